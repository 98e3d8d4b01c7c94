// The WebSocket bench's controller in a process of its own (the ws library's
// WebSocketServer, subprotocol v1.usp): its sockets and heap stay out of the fleet's
// bytes_per_cpe. Prints "PORT <n>" once listening and "CONNECTED <k>" as WebSocketConnect
// Records arrive; on the stdin line "GET <count>" it sends <count> Gets one at a time, round
// robin over the agents, and prints "RTT <p50_us> <p99_us> <lost>". Exits when stdin closes.
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord } from '../src/usp/codec.js';
import { eidOfExtensions } from '../src/usp/mtp/websocket.js';

const agents: Array<{ eid: string; ws: WebSocket }> = [];
const waiting = new Map<string, (at: bigint) => void>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, handleProtocols: () => 'v1.usp' });
wss.on('connection', (ws, req) => {
  const eid = eidOfExtensions(req.headers['sec-websocket-extensions']) ?? '';
  ws.on('message', (data) => {
    const at = process.hrtime.bigint();
    const rec = decodeRecord(new Uint8Array(data as Buffer));
    if (!rec.ok) return;
    if (rec.value.record_type === 'websocket_connect') {
      agents.push({ eid, ws });
      if (agents.length % 100 === 0) process.stdout.write(`CONNECTED ${agents.length}\n`);
      return;
    }
    if (rec.value.record_type !== 'no_session_context') return;
    const m = decodeMsg(rec.value.no_session_context.payload);
    if (m.ok) waiting.get(m.value.header.msg_id)?.(at);
  });
});
wss.once('listening', () => process.stdout.write(`PORT ${(wss.address() as AddressInfo).port}\n`));

const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
let seq = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^GET (\d+)$/.exec(line.trim());
  if (!m) return;
  void (async () => {
    const rtts: number[] = [];
    let lost = 0;
    for (let i = 0; i < Number(m[1]); i++) {
      const a = agents[i % agents.length]!;
      const msgId = `b-${++seq}`;
      const done = new Promise<bigint | undefined>((resolve) => {
        waiting.set(msgId, resolve);
        setTimeout(() => resolve(undefined), 5000).unref();
      });
      const t = process.hrtime.bigint();
      a.ws.send(encodeRecord({ version: '1.3', to_id: a.eid, from_id: 'self::usp-controller', no_session_context: { payload: encodeMsg({ header: { msg_id: msgId }, body: { request: { get: { param_paths: ['Device.DeviceInfo.SoftwareVersion'] } } } }) } }));
      const at = await done;
      waiting.delete(msgId);
      if (at === undefined) lost++;
      else rtts.push(Number(at - t) / 1000);
    }
    rtts.sort((x, y) => x - y);
    process.stdout.write(`RTT ${pct(rtts, 50).toFixed(0)} ${pct(rtts, 99).toFixed(0)} ${lost}\n`);
  })();
});
process.stdin.on('end', () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
});
