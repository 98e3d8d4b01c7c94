// A test USP controller as a WebSocket server (TR-369 "WebSocket Binding"), on the `ws`
// library's WebSocketServer over a real loopback socket: it selects subprotocol v1.usp,
// answers with the bbf-usp-protocol extension carrying its Endpoint ID (R-WS.11a), keeps
// every upgrade request and every Record each agent sends, and sends requests down an
// agent's connection. restart() closes it and listens again on the same port.
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord, type MsgInput, type UspMsg, type UspRecord } from '../../src/usp/codec.js';
import { eidOfExtensions, uspExtensionHeader } from '../../src/usp/mtp/websocket.js';

const HOST = '127.0.0.1';
const DEFAULT_TIMEOUT_MS = 5000;

export interface WsReceived {
  record: UspRecord;
  msg?: UspMsg;
  /** The agent's Endpoint ID from its upgrade request's extension. */
  eid: string | undefined;
}

export interface Upgrade {
  url: string;
  headers: IncomingMessage['headers'];
  eid: string | undefined;
  /** Subject CN of the client certificate the agent presented (wss:// with requestCert). */
  clientCertCn?: string;
}

export interface WsControllerOptions {
  endpointId?: string;
  /** Select v1.usp (default true); false: answer with no subprotocol, as a non-USP server. */
  selectUsp?: boolean;
  port?: number;
  /** Serve wss://: PEM key and certificate; with `ca` and `requestCert`, agents must present a certificate signed by `ca`. */
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean };
}

type Waiter = { pred: (r: WsReceived) => boolean; resolve: (r: WsReceived) => void };

export class WsController {
  readonly received: WsReceived[] = [];
  readonly upgrades: Upgrade[] = [];
  /** Close codes of agent connections, in order. */
  readonly closes: Array<{ eid: string | undefined; code: number }> = [];
  /** Pings received, by agent Endpoint ID. */
  readonly pings = new Map<string, number>();
  readonly endpointId: string;
  private readonly sockets = new Map<string, WebSocket>();
  private readonly waiters = new Set<Waiter>();
  private wss: WebSocketServer | undefined;
  private https: HttpsServer | undefined;
  private seq = 0;
  port = 0;

  private constructor(private readonly o: WsControllerOptions) {
    this.endpointId = o.endpointId ?? 'self::usp-controller';
  }

  static async start(o: WsControllerOptions = {}): Promise<WsController> {
    const c = new WsController(o);
    await c.listen(o.port ?? 0);
    return c;
  }

  get url(): string {
    return `${this.o.tls ? 'wss' : 'ws'}://${HOST}:${this.port}/usp/controller`;
  }

  /** The open connection of agent `eid`, if any. */
  socketOf(eid: string): WebSocket | undefined {
    const ws = this.sockets.get(eid);
    return ws && ws.readyState === ws.OPEN ? ws : undefined;
  }

  private async listen(port: number): Promise<void> {
    const https = this.o.tls ? createHttpsServer(this.o.tls) : undefined;
    const wss = new WebSocketServer({
      ...(https ? { server: https } : { host: HOST, port }),
      perMessageDeflate: false,
      handleProtocols: (protocols) => (this.o.selectUsp === false ? false : protocols.has('v1.usp') ? 'v1.usp' : false),
    });
    wss.on('headers', (headers, req) => {
      if (eidOfExtensions(req.headers['sec-websocket-extensions']) !== undefined) headers.push(`Sec-WebSocket-Extensions: ${uspExtensionHeader(this.endpointId)}`);
    });
    wss.on('connection', (ws, req) => {
      const eid = eidOfExtensions(req.headers['sec-websocket-extensions']);
      const cn = https ? (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN : undefined;
      this.upgrades.push({ url: req.url ?? '', headers: req.headers, eid, ...(cn ? { clientCertCn: String(cn) } : {}) });
      if (eid !== undefined) this.sockets.set(eid, ws);
      ws.on('ping', () => eid !== undefined && this.pings.set(eid, (this.pings.get(eid) ?? 0) + 1));
      ws.on('close', (code) => this.closes.push({ eid, code }));
      ws.on('error', () => undefined);
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        const bytes = new Uint8Array(data as Buffer);
        const rec = decodeRecord(bytes);
        if (!rec.ok) return;
        const item: WsReceived = { record: rec.value, eid };
        if (rec.value.record_type === 'no_session_context') {
          const m = decodeMsg(rec.value.no_session_context.payload);
          if (m.ok) item.msg = m.value;
        }
        this.received.push(item);
        for (const w of [...this.waiters]) if (w.pred(item)) w.resolve(item);
      });
    });
    const listening = https ?? wss;
    await new Promise<void>((resolve, reject) => {
      listening.once('listening', resolve);
      listening.once('error', reject);
      https?.listen(port, HOST);
    });
    this.wss = wss;
    this.https = https;
    this.port = ((https ?? wss).address() as AddressInfo).port;
  }

  waitFor(pred: (r: WsReceived) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a matching Record'): Promise<WsReceived> {
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
        reject(new Error(`WsController: no ${what} within ${timeoutMs} ms; received: ${this.received.map((r) => `${r.record.from_id} ${r.msg ? r.msg.header.msg_type : r.record.record_type}`).join(', ') || '(nothing)'}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /** Send a request to agent `eid` on its connection; resolve with the answer (Response or Error). */
  async request(eid: string, body: MsgInput['body'], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<UspMsg> {
    const msgId = `ws-${++this.seq}`;
    const answer = this.waitFor((r) => r.record.from_id === eid && r.msg?.header.msg_id === msgId && r.msg.body.msg_body !== 'request', timeoutMs, `the answer to ${msgId}`);
    this.send(eid, { header: { msg_id: msgId }, body });
    return (await answer).msg!;
  }

  send(eid: string, msg: MsgInput): void {
    const ws = this.socketOf(eid);
    if (!ws) throw new Error(`WsController: no open connection of ${eid}`);
    ws.send(encodeRecord({ version: '1.3', to_id: eid, from_id: this.endpointId, record_type: 'no_session_context', no_session_context: { payload: encodeMsg(msg) } }), { binary: true });
  }

  /** Close the server and every connection now (the agents see the controller go away). */
  async stop(): Promise<void> {
    const wss = this.wss;
    this.wss = undefined;
    if (!wss) return;
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    const https = this.https;
    this.https = undefined;
    if (https) {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
    this.sockets.clear();
  }

  /** stop(), then listen again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen(this.port);
  }
}
