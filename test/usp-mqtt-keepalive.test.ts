// The MQTT keepalive of a fleet's agents (MQTT 3.1.1 / MQTT 5 3.1.2.10, TR-181
// Device.MQTT.Client.{i}.KeepAliveTime): each connection sends PINGREQ once KeepAliveTime
// has passed without a packet from it, and the checks run in the shard's scheduler
// (TimerKind.UspKeepAlive), not in a timer per connection: on the harness's fake clock no
// PINGREQ goes out until the clock is advanced past KeepAliveTime.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Packet } from 'mqtt-packet';
import { startHarness, uspInit, until, type Harness } from './helpers/harness.js';
import { startMqtt5Broker, type Mqtt5Broker } from './helpers/mqtt5-broker.js';
import { settle } from './helpers/settle.js';

describe('MQTT keepalive of the fleet\'s agents (the shard\'s scheduler)', () => {
  let broker: Mqtt5Broker | undefined;
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.stop();
    await broker?.close();
    h = broker = undefined;
  });

  it('PINGREQ once KeepAliveTime (60 s) of shard time passed without a packet from the agent, each agent on its own connection', async () => {
    broker = await startMqtt5Broker();
    h = await startHarness({ cwmp: false, cpes: 3, usp: uspInit(broker.url, { protocolVersion: 5 }) });
    h.tick();
    await until(() => h!.shard.usp!.connections.countsByState().connected === 3, 10_000, 'every agent connected');
    const pings = (eid: string): number => (broker!.packets.get(eid) ?? []).filter((p: Packet) => p.cmd === 'pingreq').length;
    const eids = [0, 1, 2].map((l) => h!.shard.env.endpointId(l));
    // Each agent's CONNECT names KeepAliveTime, with its own ClientId.
    for (const eid of eids) {
      const connect = broker.packets.get(eid)!.find((p): p is Extract<Packet, { cmd: 'connect' }> => p.cmd === 'connect')!;
      expect(connect.keepalive).toBe(60);
    }
    expect(eids.map(pings)).toEqual([0, 0, 0]);
    // Step the shard's clock 5 s at a time over 20 minutes. The agents also PUBLISH (their
    // OnBoardRequest Notify is retried, nobody answers it), which puts the PINGREQ off: each
    // PINGREQ must come KeepAliveTime after the agent's last packet (to the step), and each
    // agent sends some.
    const STEP = 5000;
    const seen = eids.map(() => 0);
    const lastTx = eids.map(() => h!.shard.clock.now());
    const pingGaps: number[] = [];
    for (let t = 0; t < 20 * 60_000; t += STEP) {
      h.tick(STEP);
      await settle(h);
      eids.forEach((eid, i) => {
        const got = broker!.packets.get(eid)!;
        for (const p of got.slice(seen[i])) {
          if (p.cmd === 'pingreq') pingGaps.push(h!.shard.clock.now() - lastTx[i]!);
          lastTx[i] = h!.shard.clock.now();
        }
        seen[i] = got.length;
      });
    }
    expect(eids.map(pings).every((n) => n >= 2)).toBe(true);
    // A PINGREQ at the step KeepAliveTime after the last packet: 60 s, never earlier, at most a step later.
    expect(pingGaps.every((gap) => gap >= 60_000 && gap <= 60_000 + STEP)).toBe(true);
    expect(h.shard.usp!.connections.countsByState().connected).toBe(3);
    expect(h.shard.usp!.connections.failures.reasons).toEqual({});
  });
});
