// The CPE's HTTP side of a CWMP session (TR-069 3.4): one pooled keep-alive connection
// held for the whole session (GenieACS binds a session, and its Digest nonce, to the
// socket), the ACS's cookies kept for the session only, Basic/Digest on 401, redirects
// followed for the session only.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { basicAuthorization, digestAuthorization, parseChallenges, type DigestClientState } from '../http/digest.js';
import type { LinkFaultSpec } from '../scenario/model.js';
import { Http1Conn, Http1Failure, type Http1Reply } from './http1.js';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Set when the body is not valid UTF-8 (a fatal error for XML, XML 1.0 4.3.3); `body` is then empty. */
  notUtf8?: true;
}

/** Strict UTF-8: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface AcsEndpoint {
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
  /**
   * The trouble on this CPE's link now (a fleet event's link fault), asked before each
   * POST so a fault that starts or ends mid-session takes effect at the next message.
   * Absent: a clean link. docs/cwmp-behaviour.md "Link faults".
   */
  link?: () => LinkFaultSpec | undefined;
  /** [0, 1) for the jitter and the reset/stall draws (Math.random by default). */
  random?: () => number;
}

/**
 * Why a session is cut from the CPE's side: it lost power (a fleet event's power cut, reboot
 * or reset wave), it ran past --session-timeout, or the process stopped and --stop-grace ran out.
 */
export type CutReason = 'power-off' | 'too-long' | 'stopped';

const CUT_DETAIL: Record<CutReason, string> = {
  'power-off': 'the CPE lost power mid-session',
  'too-long': 'the session ran past --session-timeout',
  stopped: 'the fleet stopped and the session outlasted --stop-grace',
};

/** Why a POST failed below the CWMP layer. */
export class TransportError extends Error {
  constructor(
    readonly reason: 'connect' | 'timeout' | 'too-large' | 'auth' | 'redirect' | 'io' | 'reset' | 'stall' | 'link-down' | 'descriptors' | CutReason,
    message: string,
    /** The ACS's last HTTP status when it answered (a refused 401, a redirect loop). */
    readonly status?: number,
    /** The status line the ACS had answered with when the link cut its reply (a reset): the exchange was answered. */
    readonly answeredWith?: number,
  ) {
    super(message);
  }
}

/**
 * Keep-alive connections to ACS origins. A session checks one out and returns it at the
 * end, so sockets are reused across sessions while each session stays on one socket.
 */
export class ConnectionPool {
  private idle = new Map<string, Http1Conn[]>();
  /** Trusted CAs and the client certificate, read once: every connection shares them. */
  private readonly tls: { ca?: string; cert?: string; key?: string };
  /** The newest TLS session per https origin, resumed by the next connection to it. */
  private readonly tlsSessions = new Map<string, Buffer>();
  private readonly hooks: { fdRefusal?: (() => string | undefined) | undefined; fdReleased?: (() => void) | undefined };
  /** Idle connections' keep-alive timers. */
  private readonly idleTimers = new Map<Http1Conn, NodeJS.Timeout>();
  constructor(
    private readonly opts: {
      maxIdlePerOrigin: number;
      caFile?: string | undefined;
      /** The client certificate and key presented to an https ACS that asks for one. */
      certFile?: string | undefined;
      keyFile?: string | undefined;
      keepAliveMs?: number;
      /** Asked before each new connection: undefined to open it, or why not (the process's descriptor reserve). */
      fdRefusal?: () => string | undefined;
      /** A connection fdRefusal let open is closed (or never got a socket). */
      fdReleased?: () => void;
    },
  ) {
    this.tls = tlsMaterial(opts);
    this.hooks = { fdRefusal: opts.fdRefusal, fdReleased: opts.fdReleased };
  }

  acquire(url: URL): Http1Conn {
    const list = this.idle.get(url.origin);
    for (let c = list?.pop(); c; c = list?.pop()) {
      const t = this.idleTimers.get(c);
      if (t) {
        clearTimeout(t);
        this.idleTimers.delete(c);
      }
      if (c.reusable) return c;
      c.close();
    }
    const https = url.protocol === 'https:';
    if (!https && url.protocol !== 'http:') throw new Error(`unsupported ACS URL scheme ${url.protocol}`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port ? Number(url.port) : https ? 443 : 80;
    return new Http1Conn({ protocol: https ? 'https:' : 'http:', host, port, tls: this.tls, tlsSessions: this.tlsSessions }, this.hooks);
  }

  /** Cut the connection the way a broken link does: a TCP reset, no orderly close. */
  reset(c: Http1Conn): void {
    c.reset();
  }

  release(origin: string, c: Http1Conn, reusable: boolean): void {
    const list = this.idle.get(origin) ?? [];
    if (!reusable || !c.reusable || list.length >= this.opts.maxIdlePerOrigin) {
      c.close();
      return;
    }
    list.push(c);
    this.idle.set(origin, list);
    // Close it after the keep-alive time, or a second before the server's own hint runs out.
    const own = this.opts.keepAliveMs ?? 4000;
    const ms = c.keepAliveHintMs !== undefined ? Math.min(own, Math.max(0, c.keepAliveHintMs - 1000)) : own;
    const timer = setTimeout(() => {
      this.idleTimers.delete(c);
      const at = list.indexOf(c);
      if (at >= 0) list.splice(at, 1);
      c.close();
    }, ms);
    timer.unref();
    this.idleTimers.set(c, timer);
  }

  async close(): Promise<void> {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    for (const c of all) c.close();
  }
}

const MAX_REDIRECTS = 5;

/**
 * The largest ACS reply body a CPE reads (docs/cwmp-behaviour.md "Sessions", README): past
 * it the reply is cut as it streams in and the session fails `too-large`. Parsing costs a
 * multiple of the body in heap, so an unbounded reply could take the thread down.
 */
export const MAX_ACS_REPLY_BYTES = 4 * 1024 * 1024;

export class AcsHttpSession {
  private url: URL;
  private client: Http1Conn;
  private cookies = new Map<string, string>();
  private basic = false;
  private digest: DigestClientState | undefined;
  private broken = false;
  /** The CPE lost power: the connection is gone and nothing more is sent. */
  private aborted: { reason: CutReason; detail: string } | false = false;

  /** The origin the CPE was configured with (ManagementServer.URL): the one its credentials belong to. */
  private readonly home: string;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly endpoint: AcsEndpoint,
  ) {
    this.url = new URL(endpoint.url);
    this.home = this.url.origin;
    this.client = pool.acquire(this.url);
  }

  /** POST a SOAP body ('' is the empty POST, TR-069 3.7.2.4). */
  async post(body: string): Promise<HttpReply> {
    let redirects = 0;
    let authTries = 0;
    for (;;) {
      const reply = await this.send(body);
      if (reply.status === 401) {
        // TR-069 3.4.4: answer the challenge on the same connection
        if (authTries++ >= 2 || !this.answerChallenge(reply)) {
          const why = !this.endpoint.username && !this.endpoint.password
            ? ', no acsUsername configured'
            : !this.credentialsAllowed() ? `, credentials not sent over plain http to ${this.url.origin} (redirected from ${this.home})` : '';
          throw new TransportError('auth', `ACS refused authentication (401${why})`, 401);
        }
        continue;
      }
      if ((reply.status === 301 || reply.status === 302 || reply.status === 303 || reply.status === 307 || reply.status === 308) && reply.headers['location']) {
        if (redirects++ >= MAX_REDIRECTS) throw new TransportError('redirect', 'too many redirects', reply.status);
        this.redirect(String(reply.headers['location']));
        continue;
      }
      return reply;
    }
  }

  private redirect(location: string): void {
    const next = new URL(location, this.url);
    if (next.origin !== this.url.origin) {
      this.pool.release(this.url.origin, this.client, false);
      this.client = this.pool.acquire(next);
      this.digest = undefined;
      this.basic = false;
    }
    this.url = next;
  }

  /**
   * Where the ACS credentials may go (docs/cwmp-behaviour.md "Sessions"): anywhere over TLS,
   * else only to the origin the CPE was configured with. After a redirect to another
   * origin over plain http neither Basic (the password in the clear, RFC 7617 section 4)
   * nor Digest (a response an eavesdropper can attack offline, RFC 7616 section 5) is sent.
   */
  private credentialsAllowed(): boolean {
    return this.url.protocol === 'https:' || this.url.origin === this.home;
  }

  private answerChallenge(reply: HttpReply): boolean {
    if (!this.endpoint.username && !this.endpoint.password) return false;
    if (!this.credentialsAllowed()) return false;
    const challenges = parseChallenges(reply.headers['www-authenticate']);
    const digest = challenges.find((c) => c.scheme === 'digest');
    if (digest) {
      this.digest = { challenge: digest, nc: 0 };
      this.basic = false;
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (this.basic) return false; // already sent Basic; the credentials are wrong
      this.basic = true;
      return true;
    }
    return false;
  }

  private authorization(body: string): string | undefined {
    const creds = { username: this.endpoint.username, password: this.endpoint.password };
    if (this.digest) return digestAuthorization(this.digest, creds, 'POST', this.url.pathname + this.url.search, body);
    if (this.basic) return basicAuthorization(creds.username, creds.password);
    return undefined;
  }

  /**
   * A fleet event's link fault, applied before one request goes out (docs/cwmp-behaviour.md
   * "Link faults"): a down link fails at once; latency (plus jitter) delays the request; a
   * stall swallows it, so the CPE waits out --acs-timeout; a reset lets the request reach
   * the ACS and cuts the connection before the reply is read. Returns whether to reset.
   */
  private async linkBefore(): Promise<boolean> {
    const fault = this.endpoint.link?.();
    if (!fault) return false;
    const random = this.endpoint.random ?? Math.random;
    if (fault.down) {
      this.broken = true;
      throw new TransportError('link-down', 'link down: no connection to the ACS');
    }
    const wait = fault.latencyMs + (fault.jitterMs > 0 ? random() * fault.jitterMs : 0);
    if (wait > 0) await delay(wait);
    if (fault.stallProbability > 0 && random() < fault.stallProbability) {
      // The request goes nowhere and no answer comes: the real --acs-timeout runs out.
      this.broken = true;
      await delay(this.endpoint.timeoutMs);
      throw new TransportError('stall', `link stalled: no answer within the ACS timeout (${this.endpoint.timeoutMs} ms)`);
    }
    return fault.resetProbability > 0 && random() < fault.resetProbability;
  }

  /**
   * Cut the session now: the connection dies with a reset, as a power loss kills it, and the
   * session's next or pending request fails with `reason` (the first cut wins).
   */
  abort(reason: CutReason = 'power-off', detail = CUT_DETAIL[reason]): void {
    if (this.aborted) return;
    this.aborted = { reason, detail };
    this.broken = true;
    this.pool.reset(this.client);
  }

  /** The error of a cut session: its reason (power-off, too-long, stopped) and detail. */
  private cutError(): TransportError {
    const cut = this.aborted || { reason: 'power-off', detail: CUT_DETAIL['power-off'] };
    return new TransportError(cut.reason, cut.detail);
  }

  private async send(body: string): Promise<HttpReply> {
    const reset = await this.linkBefore();
    if (this.aborted) throw this.cutError();
    // The head and the body go out in one write (RFC 9112 section 3 request line, 7230-style headers).
    let head = `POST ${this.url.pathname}${this.url.search} HTTP/1.1\r\nHost: ${this.url.host}\r\nConnection: keep-alive\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    if (body !== '') head += 'Content-Type: text/xml; charset="utf-8"\r\n';
    // TR-069 3.4.5: echo the ACS's cookies for the rest of the session
    if (this.cookies.size > 0) head += `Cookie: ${[...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')}\r\n`;
    const auth = this.authorization(body);
    if (auth) head += `Authorization: ${auth}\r\n`;
    head += '\r\n';
    // The ACS closed the connection after its last answer (Connection: close, HTTP/1.0, a body
    // framed by the close, or an idle socket it timed out): the session goes on over a new one.
    if (this.client.dead) this.client = this.pool.acquire(this.url);
    let res: Http1Reply;
    try {
      // One deadline for the whole exchange: connect, send, status line and the full body.
      res = await this.client.exchange(head, body, { timeoutMs: this.endpoint.timeoutMs, maxBody: MAX_ACS_REPLY_BYTES, resetOnHead: reset });
    } catch (e) {
      this.broken = true;
      if (this.aborted) throw this.cutError();
      const f = e as Http1Failure;
      if (!(f instanceof Http1Failure)) throw new TransportError('io', (e as Error).message);
      throw new TransportError(f.kind, f.message, undefined, f.answeredWith);
    }
    let text = '';
    let notUtf8 = false;
    try {
      text = UTF8.decode(res.body);
    } catch {
      notUtf8 = true;
    }
    this.keepCookies(res.headers['set-cookie']);
    return { status: res.status, headers: res.headers, body: text, ...(notUtf8 ? { notUtf8: true as const } : {}) };
  }

  private keepCookies(setCookie: string | string[] | undefined): void {
    if (!setCookie) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a)) || attrs.some((a) => {
        const m = /^\s*expires\s*=(.*)$/i.exec(a);
        return m ? Date.parse(m[1]!) < Date.now() : false;
      });
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /**
   * End of session: cookies die with it (docs/cwmp-behaviour.md). After a clean end the socket
   * goes back to the pool; after a failed session it is closed, since the ACS may still
   * bind it to the broken session (GenieACS keys sessions on the socket).
   */
  close(sessionOk: boolean): void {
    this.cookies.clear();
    this.pool.release(this.url.origin, this.client, sessionOk && !this.broken);
  }
}

/** The PEM texts of an https ACS's trusted CAs and of the CPE's client certificate, for undici's connect options. */
export function tlsMaterial(o: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined }): { ca?: string; cert?: string; key?: string } {
  return {
    ...(o.caFile ? { ca: readFileSync(o.caFile, 'utf8') } : {}),
    ...(o.certFile && o.keyFile ? { cert: readFileSync(o.certFile, 'utf8'), key: readFileSync(o.keyFile, 'utf8') } : {}),
  };
}
