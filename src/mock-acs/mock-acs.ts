// An embedded mock ACS over real HTTP: what the README demo informs and what the
// integration tests talk to. It behaves like GenieACS where that matters to a CPE:
// a `session` cookie, Basic or Digest with a socket-independent nonce, InformResponse,
// queued RPCs with cwmp:ID, 204 to end the session, Connection: close on the last reply.
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { buildAcsEnvelope } from '../cwmp/soap-build.js';
import { parseCpeEnvelope } from '../cwmp/soap-parse.js';
import type { AcsOutgoingRequest, CpeMessage, Inform, ParsedCpeEnvelope } from '../cwmp/types.js';
import { SUPPORTED_METHODS } from '../cwmp/types.js';
import { basicAuthorization, checkNonce, digestAuthorization, digestChallenge, makeNonce, parseAuthorization, parseChallenges, verifyBasic, verifyDigest } from '../http/digest.js';

export interface MockAcsOptions {
  auth?: { mode: 'none' | 'basic' | 'digest'; username: string; password: string };
  /** Requests to send in a session, decided when its Inform arrives (after anything queued). */
  script?: (inform: Inform, deviceId: string) => AcsOutgoingRequest[] | undefined;
  /** Answer an Inform with this HTTP status instead (e.g. 503 for retry tests). */
  failInform?: (inform: Inform, deviceId: string) => number | undefined;
  /** The Retry-After header (RFC 9110 10.2.3) sent with a failInform 503 or 429; none when absent or undefined. */
  retryAfter?: (inform: Inform, deviceId: string) => string | undefined;
  /** Send HoldRequests=true with the InformResponse. */
  holdRequests?: boolean;
  /** End sessions with 204 (default) or an empty 200. */
  sessionEnd?: '204' | 'empty200';
  /** Answer TransferComplete with fault 8005 (retry) while this returns true. */
  refuseTransferComplete?: () => boolean;
  /** Hold the InformResponse back this many ms (a slow ACS). */
  informDelayMs?: (inform: Inform, deviceId: string) => number;
  /**
   * Keep every session, message and raw body for inspection (tests). Off for a long run
   * (the CLI's embedded mock): then only counts are kept and memory stays flat.
   */
  record?: boolean;
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string; cert: string };
}

export interface RecordedSession {
  deviceId: string;
  inform: Inform;
  /** Every CPE message after the Inform, in order, as parsed. */
  messages: ParsedCpeEnvelope[];
  /** Request ids sent, in order. */
  sentIds: string[];
  ended: boolean;
  /** Raw bodies as received, the Inform first. */
  raw: string[];
  authorization: string[];
  cookieSeen: boolean;
  /** Client port of every request of the session: one socket means one value. */
  ports: number[];
  /** The connection closed while the session was still open. */
  cut?: boolean;
}

interface Live {
  rec: RecordedSession;
  pending: AcsOutgoingRequest[];
  startedAt: number;
}

/** A session the CPE abandoned is forgotten after this long (GenieACS: 30 s timeout). */
const LIVE_TTL_MS = 120_000;

/** GenieACS builds device ids as OUI-ProductClass-Serial, percent-encoding all but [A-Za-z0-9_]. */
export function deviceIdOf(inform: Inform): string {
  const enc = (s: string) => s.replace(/[^A-Za-z0-9_]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  const { oui, productClass, serialNumber } = inform.deviceId;
  return productClass ? `${enc(oui)}-${enc(productClass)}-${enc(serialNumber)}` : `${enc(oui)}-${enc(serialNumber)}`;
}

export class MockAcs {
  readonly sessions: RecordedSession[] = [];
  /** Last Inform per device id. */
  readonly devices = new Map<string, Inform>();
  private queued = new Map<string, AcsOutgoingRequest[]>();
  private live = new Map<string, Live>();
  private server: Server | undefined;
  private readonly secret = randomBytes(16);
  private seq = 0;
  private waiters: Array<() => void> = [];
  informCount = 0;
  /** Every TransferComplete received, in order. */
  readonly transferCompletes: Array<Extract<CpeMessage, { method: 'TransferComplete' }>> = [];
  /** Every DUStateChangeComplete received, in order. */
  readonly duStateChangeCompletes: Array<Extract<CpeMessage, { method: 'DUStateChangeComplete' }>> = [];
  sessionsEnded = 0;
  private lastSweep = 0;
  /** Client ports that were sent a 401 challenge, in order. */
  readonly challengedPorts: number[] = [];
  /** Authorization headers the ACS refused with a 401, in order (record mode only). */
  readonly refusedAuthorizations: string[] = [];
  private open = 0;
  /** TCP connections accepted so far. */
  connections = 0;
  /** Connections that closed while the session on them was still open (a CPE's link cut mid-session). */
  sessionsCut = 0;
  /** The session (cookie) each socket last carried. */
  private socketSession = new WeakMap<Socket, string>();

  constructor(private readonly opts: MockAcsOptions = {}) {}

  /** Requests received and not answered yet (0: the ACS is idle). */
  get requestsInFlight(): number {
    return this.open;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    if (!a) throw new Error('mock ACS is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.opts.tls ? 'https' : 'http'}://${host}:${a.port}/`;
  }

  async listen(host = '127.0.0.1', port = 0): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res);
    this.server = this.opts.tls ? createTlsServer(this.opts.tls, handler) : createServer(handler);
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (socket: Socket) => {
      this.connections++;
      socket.once('close', () => {
        const sid = this.socketSession.get(socket);
        const live = sid === undefined ? undefined : this.live.get(sid);
        if (live && !live.rec.ended) {
          this.sessionsCut++;
          live.rec.cut = true;
        }
        this.changed();
      });
      this.changed();
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return this.url;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Queue RPCs for the device's next session. */
  queue(deviceId: string, ...reqs: AcsOutgoingRequest[]): void {
    this.queued.set(deviceId, [...(this.queued.get(deviceId) ?? []), ...reqs]);
  }

  /** Resolve when pred() holds, polling on every recorded change. */
  async waitFor(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`mock ACS: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  private changed(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private authorized(req: IncomingMessage, res: ServerResponse, body: string): boolean {
    const auth = this.opts.auth;
    if (!auth || auth.mode === 'none') return true;
    const a = parseAuthorization(req.headers.authorization);
    if (auth.mode === 'basic') {
      if (a?.scheme === 'basic' && verifyBasic(a.token, auth.username, auth.password)) return true;
      this.refused(req);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="mock-acs"', 'content-length': '0' }).end();
      return false;
    }
    if (a?.scheme === 'digest') {
      const nonceOk = checkNonce(this.secret, 'acs', a.params['nonce'] ?? '', Date.now(), 300_000) === 'ok';
      if (nonceOk && a.params['username'] === auth.username && verifyDigest(a.params, 'POST', auth.password, body)) return true;
    }
    this.refused(req);
    res.writeHead(401, { 'www-authenticate': digestChallenge('mock-acs', makeNonce(this.secret, 'acs', Date.now()), { qop: 'auth,auth-int' }), 'content-length': '0' }).end();
    return false;
  }

  private refused(req: IncomingMessage): void {
    this.challengedPorts.push(req.socket.remotePort ?? 0);
    if (req.headers.authorization && this.opts.record !== false) this.refusedAuthorizations.push(req.headers.authorization);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.open++;
    res.once('close', () => this.open--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.onBody(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
      }
      this.changed();
    });
  }

  private onBody(req: IncomingMessage, res: ServerResponse, body: string): void {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    if (!this.authorized(req, res, body)) return;
    const env = parseCpeEnvelope(body);
    const cookie = /(?:^|;\s*)session=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (env.message.method === 'Inform') {
      const inform = env.message;
      const deviceId = deviceIdOf(inform);
      this.informCount++;
      this.sweep();
      if (this.opts.record !== false) this.devices.set(deviceId, inform);
      const status = this.opts.failInform?.(inform, deviceId);
      if (status) {
        const retryAfter = status === 503 || status === 429 ? this.opts.retryAfter?.(inform, deviceId) : undefined;
        res.writeHead(status, retryAfter !== undefined ? { 'retry-after': retryAfter, 'content-length': '0' } : { 'content-length': '0' }).end();
        return;
      }
      const rec: RecordedSession = { deviceId, inform, messages: [], sentIds: [], ended: false, raw: [body], authorization: [], cookieSeen: false, ports: [req.socket.remotePort ?? 0] };
      if (req.headers.authorization) rec.authorization.push(req.headers.authorization);
      if (this.opts.record !== false) this.sessions.push(rec);
      const pending = [...(this.queued.get(deviceId) ?? []), ...(this.opts.script?.(inform, deviceId) ?? [])];
      this.queued.delete(deviceId);
      const sid = randomBytes(8).toString('hex');
      this.live.set(sid, { rec, pending, startedAt: Date.now() });
      this.socketSession.set(req.socket, sid);
      const send = () =>
        this.reply(res, buildAcsEnvelope({ method: 'InformResponse', maxEnvelopes: 1 }, { id: env.id, holdRequests: this.opts.holdRequests, cwmpNamespace: env.cwmpNamespace }), { 'set-cookie': `session=${sid}; Path=/` });
      const delay = this.opts.informDelayMs?.(inform, deviceId) ?? 0;
      if (delay > 0) setTimeout(send, delay);
      else send();
      return;
    }
    const live = cookie ? this.live.get(cookie) : undefined;
    if (!live) {
      // GenieACS answers a non-Inform without a session with 400.
      res.writeHead(400, { 'content-type': 'text/plain' }).end('No active session');
      return;
    }
    live.rec.cookieSeen = true;
    this.socketSession.set(req.socket, cookie!);
    if (this.opts.record !== false) {
      live.rec.ports.push(req.socket.remotePort ?? 0);
      if (req.headers.authorization) live.rec.authorization.push(req.headers.authorization);
      live.rec.messages.push(env);
      live.rec.raw.push(body);
    }
    if (env.message.method === 'TransferComplete') {
      this.transferCompletes.push(env.message);
      if (this.opts.refuseTransferComplete?.()) {
        this.reply(res, buildAcsEnvelope({ method: 'Fault', fault: { code: 8005, message: 'Retry request' } }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
        return;
      }
      this.reply(res, buildAcsEnvelope({ method: 'TransferCompleteResponse' }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    if (env.message.method === 'DUStateChangeComplete') {
      this.duStateChangeCompletes.push(env.message);
      this.reply(res, buildAcsEnvelope({ method: 'DUStateChangeCompleteResponse' }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    if (env.message.method === 'GetRPCMethods') {
      this.reply(res, buildAcsEnvelope({ method: 'GetRPCMethodsResponse', methods: [...SUPPORTED_METHODS, 'Inform', 'TransferComplete'] }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    const next = live.pending.shift();
    if (next) {
      const id = `mock-${++this.seq}`;
      live.rec.sentIds.push(id);
      this.reply(res, buildAcsEnvelope(next, { id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    live.rec.ended = true;
    this.sessionsEnded++;
    this.live.delete(cookie!);
    if (this.opts.sessionEnd === 'empty200') res.writeHead(200, { 'content-length': '0', connection: 'close' }).end();
    else res.writeHead(204, { connection: 'close' }).end();
  }

  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < 10_000) return;
    this.lastSweep = now;
    for (const [sid, l] of this.live) if (now - l.startedAt > LIVE_TTL_MS) this.live.delete(sid);
  }

  private reply(res: ServerResponse, xml: string, extra: Record<string, string> = {}): void {
    res.writeHead(200, { 'content-type': 'text/xml; charset="utf-8"', 'content-length': String(Buffer.byteLength(xml)), ...extra }).end(xml);
  }

  /** Act as an ACS sending a connection request (HTTP GET with Digest, TR-069 3.2.2). */
  static async connectionRequest(url: string, username: string, password: string, opts: { basic?: boolean } = {}): Promise<{ status: number; challenged: boolean }> {
    const get = (authorization?: string) =>
      new Promise<{ status: number; headers: IncomingMessage['headers'] }>((resolve, reject) => {
        const r = httpRequest(url, { method: 'GET', headers: authorization ? { authorization } : {}, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        });
        r.on('error', reject);
        r.end();
      });
    if (opts.basic) return { ...(await get(basicAuthorization(username, password))), challenged: false };
    const first = await get();
    if (first.status !== 401) return { status: first.status, challenged: false };
    const ch = parseChallenges(first.headers['www-authenticate']).find((c) => c.scheme === 'digest');
    if (!ch) return { status: first.status, challenged: true };
    const u = new URL(url);
    const second = await get(digestAuthorization({ challenge: ch, nc: 0 }, { username, password }, 'GET', u.pathname + u.search, ''));
    return { status: second.status, challenged: true };
  }
}
