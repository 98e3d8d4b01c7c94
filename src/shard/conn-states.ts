// The connection state of each CPE's one long-lived link (a USP agent's MTP connection, an
// XMPP connection for connection requests), a byte per CPE, with the count in each state
// kept as it changes so metrics and stats read them without a scan.
import { MQTT_CONNECTION_STATES, type MqttConnectionState } from '../threads/messages.js';

/** In the order of MQTT_CONNECTION_STATES: disconnected, connecting, connected, backoff. */
export const enum Conn {
  Off = 0,
  Connecting = 1,
  Up = 2,
  Backoff = 3,
}

export class ConnStates {
  private readonly conn: Uint8Array;
  private readonly counts = [0, 0, 0, 0];

  constructor(size: number) {
    this.conn = new Uint8Array(size);
    this.counts[Conn.Off] = size;
  }

  get(l: number): Conn {
    return this.conn[l]! as Conn;
  }

  set(l: number, to: Conn): void {
    this.counts[this.conn[l]!]!--;
    this.counts[to]!++;
    this.conn[l] = to;
  }

  name(l: number): MqttConnectionState {
    return MQTT_CONNECTION_STATES[this.conn[l]!]!;
  }

  countsByState(): Record<MqttConnectionState, number> {
    const [disconnected, connecting, connected, backoff] = this.counts as [number, number, number, number];
    return { disconnected, connecting, connected, backoff };
  }
}
