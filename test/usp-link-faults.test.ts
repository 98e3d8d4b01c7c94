// Link faults and power cuts on the agents' MQTT connections, seen from a real aedes
// broker: every packet a client sends is parsed at the broker's socket, so a test can tell
// an agent that said goodbye (DISCONNECT) from one whose link died.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { LinkFaultSpec } from '../src/scenario/model.js';
import { startHarness, uspInit, until, type Harness } from './helpers/harness.js';

interface Conn {
  packets: string[];
  closed: boolean;
}

async function startWatchedBroker(): Promise<{ url: string; conns: Conn[]; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const conns: Conn[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    const c: Conn = { packets: [], closed: false };
    conns.push(c);
    sockets.add(socket);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: { cmd: string }) => c.packets.push(p.cmd));
    parser.on('error', () => undefined);
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      c.closed = true;
      sockets.delete(socket);
    });
    broker.handle(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    conns,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

let h: Harness | undefined;
let broker: Awaited<ReturnType<typeof startWatchedBroker>> | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await broker?.close();
  broker = undefined;
});

const clean: LinkFaultSpec = { latencyMs: 0, jitterMs: 0, resetProbability: 0, stallProbability: 0, down: false };
const counts = () => h!.shard.usp!.connections.countsByState();

async function agentUp(): Promise<void> {
  broker = await startWatchedBroker();
  h = await startHarness({ cwmp: false, random: () => 0, usp: uspInit(broker.url) });
  h.tick();
  await until(() => counts().connected === 1, 10_000, 'the agent connected');
}

describe('link faults on USP MQTT connections (docs/usp-behaviour.md "Link faults")', () => {
  it('a down link drops the connection at once (no DISCONNECT), every connect fails until it ends', async () => {
    await agentUp();
    h!.shard.applyEvent({ kind: 'linkFault', target: {}, durationSeconds: 60, fault: { ...clean, down: true } }, h!.clock.now());
    await until(() => broker!.conns[0]!.closed, 10_000, 'the broker to see the socket die');
    expect(broker!.conns[0]!.packets).not.toContain('disconnect');
    await until(() => counts().backoff === 1, 10_000, 'the agent in backoff');
    // The reconnects inside the fault's minute (ConnectRetryTime 5 s: at 5, 15, 35 s) fail without reaching the broker.
    for (let i = 0; i < 5; i++) {
      h!.tick(10_000);
      expect(counts().backoff).toBe(1);
    }
    expect(broker!.conns).toHaveLength(1);
    // Past the fault, the next reconnect (the window doubles each time) goes through.
    for (let i = 0; i < 30 && counts().connected === 0; i++) {
      h!.tick(10_000);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => counts().connected === 1, 10_000, 'the agent back after the fault');
    expect(broker!.conns.length).toBe(2);
  });

  it('a reset link cuts a connection shortly after it came up; the agent backs off and tries again', async () => {
    broker = await startWatchedBroker();
    h = await startHarness({ cwmp: false, random: () => 0, usp: uspInit(broker.url) });
    h.shard.applyEvent({ kind: 'linkFault', target: {}, durationSeconds: 30, fault: { ...clean, resetProbability: 1 } }, h.clock.now());
    h.tick();
    await until(() => broker!.conns[0]?.closed === true, 10_000, 'the connection to be cut');
    const c = broker.conns[0]!;
    expect(c.packets).toContain('connect');
    expect(c.packets).toContain('subscribe');
    expect(c.packets).not.toContain('disconnect');
    await until(() => counts().backoff === 1, 10_000, 'the agent in backoff');
  });

  it('latency holds the CONNECT back (the agent stays connecting meanwhile) and then connects', async () => {
    broker = await startWatchedBroker();
    h = await startHarness({ cwmp: false, usp: uspInit(broker.url) });
    h.shard.applyEvent({ kind: 'linkFault', target: {}, durationSeconds: 30, fault: { ...clean, latencyMs: 300 } }, h.clock.now());
    h.tick();
    expect(counts().connecting).toBe(1);
    expect(broker.conns).toHaveLength(0);
    await until(() => counts().connected === 1, 10_000, 'the agent connected after the delay');
  });
});

describe('power cut vs reboot on the MQTT connection', () => {
  it('a power cut drops the connection without a DISCONNECT; a reboot says goodbye', async () => {
    await agentUp();
    h!.shard.applyEvent({ kind: 'powerCut', target: {}, durationSeconds: 30, restore: { ramp: { mode: 'none' } } }, h!.clock.now());
    await until(() => broker!.conns[0]!.closed, 10_000, 'the broker to see the socket die');
    expect(broker!.conns[0]!.packets).not.toContain('disconnect');
    h!.tick(30_000);
    await until(() => counts().connected === 1, 10_000, 'the agent back after the cut');
    h!.shard.powerCycle(0, false);
    await until(() => broker!.conns[1]!.closed, 10_000, 'the reboot to close the connection');
    expect(broker!.conns[1]!.packets.at(-1)).toBe('disconnect');
  });
});
