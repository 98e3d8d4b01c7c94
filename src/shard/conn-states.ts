// The connection state of each CPE's one long-lived link (a USP agent's MTP connection, an
// XMPP connection for connection requests), a byte per CPE, with the count in each state
// kept as it changes so metrics and stats read them without a scan. The bytes come with
// the first CPE that connects.
import { MQTT_CONNECTION_STATES, type MqttConnectionState } from '../threads/messages.js';

/** In the order of MQTT_CONNECTION_STATES: disconnected, connecting, connected, backoff. */
export const enum Conn {
  Off = 0,
  Connecting = 1,
  Up = 2,
  Backoff = 3,
}

export class ConnStates {
  /** Allocated at the first CPE that leaves Off: a fleet whose CPEs never connect (XMPP off) holds none. */
  private conn: Uint8Array | undefined;
  private readonly counts = [0, 0, 0, 0];

  constructor(private readonly size: number) {
    this.counts[Conn.Off] = size;
  }

  get byteLength(): number {
    return this.conn?.byteLength ?? 0;
  }

  get(l: number): Conn {
    return (this.conn ? this.conn[l]! : Conn.Off) as Conn;
  }

  set(l: number, to: Conn): void {
    if (!this.conn) {
      if (to === Conn.Off) return;
      this.conn = new Uint8Array(this.size);
    }
    this.counts[this.conn[l]!]!--;
    this.counts[to]!++;
    this.conn[l] = to;
  }

  name(l: number): MqttConnectionState {
    return MQTT_CONNECTION_STATES[this.get(l)]!;
  }

  countsByState(): Record<MqttConnectionState, number> {
    const [disconnected, connecting, connected, backoff] = this.counts as [number, number, number, number];
    return { disconnected, connecting, connected, backoff };
  }
}
