// A test USP controller on a STOMP broker (TR-369 "STOMP Binding"): a plain STOMP 1.2
// client over a real socket (the frame codec of src/usp/mtp/stomp.ts), subscribed to its
// own destination; it keeps every MESSAGE with its headers and decoded Record, and sends
// requests with content-type application/vnd.bbf.usp.msg and its reply-to-dest.
import { connect, type Socket } from 'node:net';
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord, type MsgInput, type UspMsg, type UspRecord } from '../../src/usp/codec.js';
import { decodeFrames, encodeFrame, USP_STOMP_CONTENT_TYPE, type StompFrame } from '../../src/usp/mtp/stomp.js';

const DEFAULT_TIMEOUT_MS = 5000;

export interface StompReceived {
  headers: Map<string, string>;
  record?: UspRecord;
  msg?: UspMsg;
}

type Waiter = { pred: (r: StompReceived) => boolean; resolve: (r: StompReceived) => void };

export class StompController {
  readonly received: StompReceived[] = [];
  private readonly waiters = new Set<Waiter>();
  private pending: Buffer | undefined;
  private seq = 0;

  private constructor(
    private readonly sock: Socket,
    readonly endpointId: string,
    readonly destination: string,
  ) {}

  static async start(o: { port: number; login: string; passcode: string; destination?: string; endpointId?: string }): Promise<StompController> {
    const sock = connect({ host: '127.0.0.1', port: o.port });
    sock.on('error', () => undefined);
    const c = new StompController(sock, o.endpointId ?? 'self::usp-controller', o.destination ?? '/queue/usp.controller');
    const frames: StompFrame[] = [];
    let wake: (() => void) | undefined;
    sock.on('data', (d: Buffer) => {
      const r = decodeFrames(c.pending ? Buffer.concat([c.pending, d]) : d);
      c.pending = r.rest;
      for (const f of r.frames) {
        if (f.command === 'MESSAGE') c.message(f);
        else frames.push(f);
      }
      wake?.();
    });
    const next = async (command: string): Promise<StompFrame> => {
      const deadline = Date.now() + DEFAULT_TIMEOUT_MS;
      for (;;) {
        const i = frames.findIndex((f) => f.command === command || f.command === 'ERROR');
        if (i >= 0) {
          const f = frames.splice(i, 1)[0]!;
          if (f.command === 'ERROR') throw new Error(`StompController: ERROR ${f.headers.get('message')}: ${f.body.toString()}`);
          return f;
        }
        if (Date.now() > deadline) throw new Error(`StompController: no ${command} within ${DEFAULT_TIMEOUT_MS} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    };
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.write(encodeFrame('STOMP', [['accept-version', '1.2'], ['host', '/'], ['login', o.login], ['passcode', o.passcode], ['endpoint-id', c.endpointId]], undefined, true));
    await next('CONNECTED');
    sock.write(encodeFrame('SUBSCRIBE', [['id', 'ctl'], ['destination', c.destination], ['ack', 'auto'], ['receipt', 'ctl-sub']]));
    await next('RECEIPT');
    return c;
  }

  private message(f: StompFrame): void {
    const item: StompReceived = { headers: f.headers };
    const rec = decodeRecord(new Uint8Array(f.body));
    if (rec.ok) {
      item.record = rec.value;
      if (rec.value.record_type === 'no_session_context') {
        const m = decodeMsg(rec.value.no_session_context.payload);
        if (m.ok) item.msg = m.value;
      }
    }
    this.received.push(item);
    for (const w of [...this.waiters]) if (w.pred(item)) w.resolve(item);
  }

  waitFor(pred: (r: StompReceived) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a matching MESSAGE'): Promise<StompReceived> {
    const past = this.received.find(pred);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: (r) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`StompController: no ${what} within ${timeoutMs} ms; received ${this.received.length}: ${this.received.map((r) => `${r.record?.from_id} ${r.msg?.header.msg_type ?? r.record?.record_type}`).join(', ')}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /** SEND a request to the agent's destination with our reply-to-dest; resolve with the answer's MESSAGE. */
  async request(agent: { endpointId: string; destination: string }, body: MsgInput['body'], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<StompReceived> {
    const msgId = `stomp-${++this.seq}`;
    const answer = this.waitFor((r) => r.record?.from_id === agent.endpointId && r.msg?.header.msg_id === msgId, timeoutMs, `the answer to ${msgId}`);
    const record = encodeRecord({ version: '1.3', to_id: agent.endpointId, from_id: this.endpointId, record_type: 'no_session_context', no_session_context: { payload: encodeMsg({ header: { msg_id: msgId }, body }) } });
    this.sock.write(encodeFrame('SEND', [['destination', agent.destination], ['content-type', USP_STOMP_CONTENT_TYPE], ['reply-to-dest', this.destination]], record));
    return answer;
  }

  async stop(): Promise<void> {
    const gone = new Promise<void>((r) => this.sock.once('close', () => r()));
    this.sock.end(encodeFrame('DISCONNECT', []));
    const t = setTimeout(() => this.sock.destroy(), 2000);
    await gone;
    clearTimeout(t);
  }
}
