// An embedded mock ACS over real HTTP: what the README demo informs and what the
// integration tests talk to. It behaves like GenieACS where that matters to a CPE:
// a `session` cookie, Basic or Digest with a socket-independent nonce, InformResponse,
// queued RPCs with cwmp:ID, 204 to end the session, Connection: close on the last reply.
// For load tests it can also shed load like an overloaded ACS (a cap on open sessions,
// 503 with Retry-After past it), answer slowly (a fixed latency plus jitter), and keep
// counts of what it saw, served as JSON on GET /stats (docs/mock-acs.md).
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
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
  /**
   * Serve HTTPS with this PEM key and certificate. With `ca` and `requestCert`, CPEs must
   * present a client certificate signed by one of those CAs (the handshake fails otherwise).
   */
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean };
  /**
   * Overload mode: at most this many sessions open at once (0 or unset: no limit). An
   * Inform that would open one more is answered 503 with Retry-After and the connection
   * is closed, as GenieACS does when it sheds load.
   */
  maxSessions?: number;
  /** Retry-After seconds on an overload 503 (and on failInform's 503s); 0 sends none. Default 60. */
  retryAfterSeconds?: number;
  /** Added before every answer: `ms` plus a uniform draw in [-jitterMs, +jitterMs] (never below 0). */
  latency?: Latency;
  /** [0, 1) for the latency jitter (Math.random by default). */
  random?: () => number;
  /** An open session the CPE neither ends nor cuts is dropped this long after its Inform (default 120 s). */
  sessionTtlMs?: number;
}

export interface Latency {
  ms: number;
  jitterMs: number;
}

/** What the mock ACS saw since it started, as `counts()` and GET /stats answer it. */
export interface MockAcsCounts {
  /** Informs received and authenticated: sessionsStarted + refused503 + refusedOther. */
  informs: number;
  /** Informs answered with an InformResponse: sessions opened. */
  sessionsStarted: number;
  /** Sessions the ACS ended with its 204 (or empty 200). */
  sessionsCompleted: number;
  /** Sessions open now. */
  sessionsOpen: number;
  /** Most sessions open at once. */
  sessionsOpenPeak: number;
  /** Informs refused with 503 (overload, or failInform's 503). */
  refused503: number;
  /** Informs refused with any other status (failInform). */
  refusedOther: number;
  /** Refused Informs by HTTP status. */
  refusedByStatus: Record<string, number>;
  /** Sessions the CPE cut: its connection closed, or a request of the session was aborted, while the session was open. */
  resets: number;
  /** Sessions dropped after the TTL with neither an end nor a cut. */
  expired: number;
  /** Non-Inform requests with no open session (answered 400, as GenieACS does). */
  orphanRequests: number;
  /** 401 challenges sent (Basic or Digest). */
  authChallenges: number;
  /** Informs received by EventCode (an Inform with two events counts under both). */
  informsByEvent: Record<string, number>;
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
  /** Subject CN of the client certificate the CPE presented over HTTPS, if any. */
  clientCertCn?: string;
}

interface Live {
  rec: RecordedSession;
  pending: AcsOutgoingRequest[];
  startedAt: number;
  /** The connection the session's last request came on: its close cuts the session. */
  socket: Socket;
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
  /** Client ports that were sent a 401 challenge, in order. */
  readonly challengedPorts: number[] = [];
  /** Authorization headers the ACS refused with a 401, in order (record mode only). */
  readonly refusedAuthorizations: string[] = [];
  private open = 0;
  private closing = false;
  /** TCP connections accepted so far. */
  connections = 0;
  /** Sockets whose close is watched (one listener per connection, not per request). */
  private readonly watched = new WeakSet<Socket>();
  private readonly c = {
    informs: 0,
    sessionsStarted: 0,
    refused503: 0,
    refusedOther: 0,
    resets: 0,
    expired: 0,
    orphanRequests: 0,
    authChallenges: 0,
    sessionsOpenPeak: 0,
  };
  private readonly refusedByStatus: Record<string, number> = {};
  private readonly informsByEvent: Record<string, number> = {};

  constructor(private readonly opts: MockAcsOptions = {}) {
    const { maxSessions, retryAfterSeconds, latency } = opts;
    if (maxSessions !== undefined && !(Number.isInteger(maxSessions) && maxSessions >= 0)) throw new RangeError(`MockAcs: maxSessions: expected an integer >= 0 (0: no limit), got ${maxSessions}`);
    if (retryAfterSeconds !== undefined && !(Number.isInteger(retryAfterSeconds) && retryAfterSeconds >= 0)) throw new RangeError(`MockAcs: retryAfterSeconds: expected an integer >= 0 (0: no Retry-After), got ${retryAfterSeconds}`);
    if (latency && !(latency.ms >= 0 && latency.jitterMs >= 0)) throw new RangeError(`MockAcs: latency: expected ms >= 0 and jitterMs >= 0, got ${JSON.stringify(latency)}`);
  }

  /** What the ACS saw so far (a fresh copy). Kept as counters: nothing per session or per CPE. */
  counts(): MockAcsCounts {
    this.expire();
    return {
      informs: this.c.informs,
      sessionsStarted: this.c.sessionsStarted,
      sessionsCompleted: this.sessionsEnded,
      sessionsOpen: this.live.size,
      sessionsOpenPeak: this.c.sessionsOpenPeak,
      refused503: this.c.refused503,
      refusedOther: this.c.refusedOther,
      refusedByStatus: { ...this.refusedByStatus },
      resets: this.c.resets,
      expired: this.c.expired,
      orphanRequests: this.c.orphanRequests,
      authChallenges: this.c.authChallenges,
      informsByEvent: { ...this.informsByEvent },
    };
  }

  /** Sessions open now (from the Inform to the end, a cut, or the TTL). */
  get sessionsOpen(): number {
    return this.live.size;
  }

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
    this.server.on('connection', () => {
      this.connections++;
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
    this.closing = true;
    const s = this.server;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
    this.closing = false;
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
    this.c.authChallenges++;
    this.challengedPorts.push(req.socket.remotePort ?? 0);
    if (req.headers.authorization && this.opts.record !== false) this.refusedAuthorizations.push(req.headers.authorization);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.open++;
    const sock = req.socket;
    if (!this.watched.has(sock)) {
      this.watched.add(sock);
      sock.once('close', () => this.cut(sock, undefined));
    }
    res.once('close', () => {
      this.open--;
      // Closed before the whole answer went out: the CPE aborted the request.
      if (!res.writableFinished) this.cut(sock, this.sidOf.get(res) ?? /(?:^|;\s*)session=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1]);
    });
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

  /** The session an Inform opened, by its response (only while that answer is pending). */
  private readonly sidOf = new WeakMap<ServerResponse, string>();
  /** The session a connection last carried a request of. */
  private readonly sockSid = new WeakMap<Socket, string>();

  /**
   * The CPE cut a session: `sock` closed (sid undefined: whichever session it carries), or
   * a request of session `sid` was aborted. Counted once per session, and only while open.
   */
  private cut(sock: Socket, sid: string | undefined): void {
    if (this.closing) return;
    if (sid === undefined) {
        sid = this.sockSid.get(sock);
      if (sid === undefined || this.live.get(sid)?.socket !== sock) return;
    }
    const live = this.live.get(sid);
    if (!live) return;
    this.live.delete(sid);
    live.rec.cut = true;
    this.c.resets++;
    this.changed();
  }

  /** Sessions the CPE cut (the `resets` of counts()). */
  get sessionsCut(): number {
    return this.c.resets;
  }

  /** Drop sessions past their TTL: the Map is in start order, so only the expired head is visited. */
  private expire(): void {
    const ttl = this.opts.sessionTtlMs ?? LIVE_TTL_MS;
    const now = Date.now();
    for (const [sid, l] of this.live) {
      if (now - l.startedAt <= ttl) break;
      this.live.delete(sid);
      this.c.expired++;
    }
  }

  /** The added latency of one answer (ms). */
  private latencyMs(): number {
    const l = this.opts.latency;
    if (!l || (l.ms === 0 && l.jitterMs === 0)) return 0;
    const r = this.opts.random ?? Math.random;
    return Math.max(0, l.ms + (l.jitterMs > 0 ? (2 * r() - 1) * l.jitterMs : 0));
  }

  /** Answer after the configured latency (plus `extraMs`); nothing is written to a request the CPE gave up. */
  private answer(res: ServerResponse, write: () => void, extraMs = 0): void {
    const delay = this.latencyMs() + extraMs;
    if (delay <= 0) {
      write();
      return;
    }
    // unref: a pending answer does not keep a process alive (the server does, while it listens).
    setTimeout(() => {
      if (res.destroyed || res.writableEnded) return;
      write();
    }, delay).unref();
  }

  /**
   * Refuse an Inform: an overload 503 carries Retry-After (retryAfterSeconds, 60 unless
   * set); a failInform answer carries one only when the test asked (retryAfter, or
   * retryAfterSeconds set), so retry tests see TR-069's own retry windows by default.
   */
  private refuse(res: ServerResponse, status: number, failed?: { inform: Inform; deviceId: string }): void {
    if (status === 503) this.c.refused503++;
    else this.c.refusedOther++;
    this.refusedByStatus[status] = (this.refusedByStatus[status] ?? 0) + 1;
    const headers: Record<string, string> = { 'content-length': '0' };
    const asked = failed ? this.opts.retryAfter?.(failed.inform, failed.deviceId) : undefined;
    const seconds = failed ? this.opts.retryAfterSeconds ?? 0 : this.opts.retryAfterSeconds ?? 60;
    if (asked !== undefined && (status === 503 || status === 429)) headers['retry-after'] = asked;
    else if (status === 503 && seconds > 0) headers['retry-after'] = String(seconds);
    if (status === 503) headers['connection'] = 'close';
    this.answer(res, () => res.writeHead(status, headers).end());
  }

  private onBody(req: IncomingMessage, res: ServerResponse, body: string): void {
    if (req.method === 'GET' && (req.url === '/stats' || req.url?.startsWith('/stats?'))) {
      const json = JSON.stringify(this.counts());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)), 'cache-control': 'no-store' }).end(json);
      return;
    }
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
      this.c.informs++;
      for (const e of inform.events) this.informsByEvent[e.code] = (this.informsByEvent[e.code] ?? 0) + 1;
      this.expire();
      if (this.opts.record !== false) this.devices.set(deviceId, inform);
      const status = this.opts.failInform?.(inform, deviceId);
      if (status) {
        this.refuse(res, status, { inform, deviceId });
        return;
      }
      const max = this.opts.maxSessions ?? 0;
      if (max > 0 && this.live.size >= max) {
        this.refuse(res, 503);
        return;
      }
      const record = this.opts.record !== false;
      const rec: RecordedSession = { deviceId, inform, messages: [], sentIds: [], ended: false, raw: record ? [body] : [], authorization: [], cookieSeen: false, ports: [req.socket.remotePort ?? 0] };
      if (req.headers.authorization && record) rec.authorization.push(req.headers.authorization);
      const peer = (req.socket as TLSSocket).getPeerCertificate?.();
      if (peer?.subject?.CN) rec.clientCertCn = String(peer.subject.CN);
      if (record) this.sessions.push(rec);
      const pending = [...(this.queued.get(deviceId) ?? []), ...(this.opts.script?.(inform, deviceId) ?? [])];
      this.queued.delete(deviceId);
      const sid = randomBytes(8).toString('hex');
      this.live.set(sid, { rec, pending, startedAt: Date.now(), socket: req.socket });
      this.sidOf.set(res, sid);
      this.sockSid.set(req.socket, sid);
      this.c.sessionsStarted++;
      if (this.live.size > this.c.sessionsOpenPeak) this.c.sessionsOpenPeak = this.live.size;
      const send = () =>
        this.reply(res, buildAcsEnvelope({ method: 'InformResponse', maxEnvelopes: 1 }, { id: env.id, holdRequests: this.opts.holdRequests, cwmpNamespace: env.cwmpNamespace }), { 'set-cookie': `session=${sid}; Path=/` });
      this.answer(res, send, this.opts.informDelayMs?.(inform, deviceId) ?? 0);
      return;
    }
    const live = cookie ? this.live.get(cookie) : undefined;
    if (!live) {
      // GenieACS answers a non-Inform without a session with 400.
      this.c.orphanRequests++;
      this.answer(res, () => res.writeHead(400, { 'content-type': 'text/plain' }).end('No active session'));
      return;
    }
    live.socket = req.socket;
    this.sockSid.set(req.socket, cookie!);
    live.rec.cookieSeen = true;
    if (this.opts.record !== false) {
      live.rec.ports.push(req.socket.remotePort ?? 0);
      if (req.headers.authorization) live.rec.authorization.push(req.headers.authorization);
      live.rec.messages.push(env);
      live.rec.raw.push(body);
    }
    if (env.message.method === 'TransferComplete') {
      this.transferCompletes.push(env.message);
      if (this.opts.refuseTransferComplete?.()) {
        this.replyLater(res, buildAcsEnvelope({ method: 'Fault', fault: { code: 8005, message: 'Retry request' } }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
        return;
      }
      this.replyLater(res, buildAcsEnvelope({ method: 'TransferCompleteResponse' }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    if (env.message.method === 'DUStateChangeComplete') {
      this.duStateChangeCompletes.push(env.message);
      this.replyLater(res, buildAcsEnvelope({ method: 'DUStateChangeCompleteResponse' }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    if (env.message.method === 'GetRPCMethods') {
      this.replyLater(res, buildAcsEnvelope({ method: 'GetRPCMethodsResponse', methods: [...SUPPORTED_METHODS, 'Inform', 'TransferComplete'] }, { id: env.id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    const next = live.pending.shift();
    if (next) {
      const id = `mock-${++this.seq}`;
      live.rec.sentIds.push(id);
      this.replyLater(res, buildAcsEnvelope(next, { id, cwmpNamespace: env.cwmpNamespace }));
      return;
    }
    // The session ends when the ACS decides it does (TR-069 3.7.2.4): it is no longer open
    // even if the CPE then drops the connection before reading the 204.
    live.rec.ended = true;
    this.sessionsEnded++;
    this.live.delete(cookie!);
    this.answer(res, () => {
      if (this.opts.sessionEnd === 'empty200') res.writeHead(200, { 'content-length': '0', connection: 'close' }).end();
      else res.writeHead(204, { connection: 'close' }).end();
    });
  }

  private reply(res: ServerResponse, xml: string, extra: Record<string, string> = {}): void {
    res.writeHead(200, { 'content-type': 'text/xml; charset="utf-8"', 'content-length': String(Buffer.byteLength(xml)), ...extra }).end(xml);
  }

  /** reply() after the configured latency. */
  private replyLater(res: ServerResponse, xml: string): void {
    this.answer(res, () => this.reply(res, xml));
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
