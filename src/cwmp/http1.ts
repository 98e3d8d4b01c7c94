// A lean HTTP/1.1 client connection for the CPE's side of a CWMP session (RFC 9112): one
// socket, one request at a time, each request written in one piece (head and body in one
// write), the reply parsed as it arrives without streams, promises per chunk or abort
// signals. A simulated CPE opens a connection per session at thousands of sessions a
// second, so what a general-purpose client spends per connection and per request is most
// of the simulator's CPU; this keeps only what a CWMP exchange needs:
// - framing by Content-Length, chunked transfer coding (with trailers) or the end of the
//   connection (RFC 9112 section 6.3), 1xx interim replies skipped, 204/304 bodiless;
// - keep-alive per RFC 9112 section 9.3 (HTTP/1.1 unless "Connection: close", HTTP/1.0 only
//   with "Connection: keep-alive"), and the server's "Keep-Alive: timeout=N" hint honoured;
// - one deadline for the whole exchange (connect, send, head and body), a cap on the body;
// - TLS through node:tls with the session resumed per origin, as browsers and undici do.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { FD_RESERVE_CODE } from '../util/fds.js';

/** Why an exchange failed, in the transport's terms (mapped to TransportError by the caller). */
export type Http1FailureKind = 'connect' | 'timeout' | 'too-large' | 'io' | 'descriptors' | 'reset';

export class Http1Failure extends Error {
  constructor(
    readonly kind: Http1FailureKind,
    message: string,
    /** The status the ACS had answered with when a reset cut the reply. */
    readonly answeredWith?: number,
    /** The socket error's code (ECONNREFUSED, EMFILE...), when there was one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface Http1Reply {
  status: number;
  /** Lower-case names; a header sent more than once is an array in arrival order. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface Http1Origin {
  protocol: 'http:' | 'https:';
  /** The host name or address, without the brackets of an IPv6 literal. */
  host: string;
  port: number;
  tls: { ca?: string; cert?: string; key?: string };
  /** A TLS session of this origin to resume, and where to keep the newest one. */
  tlsSessions?: Map<string, Buffer>;
}

/** The longest reply head read (status line and headers): past it the reply is refused. */
export const MAX_HEAD_BYTES = 64 * 1024;

const CONN = Symbol('http1Conn');
type Owned = Socket & { [CONN]?: Http1Conn };

// Listeners shared by every socket (no closures per connection): `this` is the socket.
function onData(this: Owned, chunk: Buffer): void {
  this[CONN]?.input(chunk, false);
}
/**
 * Plain TCP reads land in one buffer per thread (net.connect's `onread`): no Buffer is made
 * and no stream is pushed per read. What outlives the call (an unfinished head, the body)
 * is copied out of it.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
function onRead(this: Owned, nread: number, buf: Buffer): boolean {
  this[CONN]?.input(buf.subarray(0, nread), true);
  return true;
}
function onEnd(this: Owned): void {
  this[CONN]?.ended();
}
function onError(this: Owned, err: Error): void {
  this[CONN]?.failed(err);
}
function onClose(this: Owned): void {
  this[CONN]?.closed();
}
function onConnect(this: Owned): void {
  this[CONN]?.connected();
}
function onSession(this: Owned, session: Buffer): void {
  this[CONN]?.keepSession(session);
}

const enum Phase {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

const enum Framing {
  None,
  Length,
  Chunked,
  UntilClose,
}

/** 1 for the bytes of an RFC 9110 token (tchar): what a header name is made of. */
const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_BYTE[c.charCodeAt(0)] = 1;
const KEEP_ALIVE_TIMEOUT = /(?:^|,)\s*timeout\s*=\s*(\d+)/i;

/**
 * One connection to one origin. `exchange` sends a request and resolves with the whole reply;
 * the connection is reusable afterwards when `reusable` says so.
 */
export class Http1Conn {
  private socket: Owned | undefined;
  private isConnected = false;
  /** Set once the socket is gone or unusable: no further exchange may start. */
  dead = false;
  /** The server's Keep-Alive timeout hint, ms (undefined: none given). */
  keepAliveHintMs: number | undefined;

  // The exchange in flight.
  private resolve: ((r: Http1Reply) => void) | undefined;
  private reject: ((e: Http1Failure) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pendingWrite: Buffer | undefined;
  private resetOnHead = false;
  private maxBody = 0;
  private phase = Phase.Head;
  private framing = Framing.None;
  /**
   * Unparsed bytes carried to the next read (a head, chunk-size line or trailer cut by the
   * read's end), in a buffer of ours that grows by doubling: a head dripped in byte by byte
   * costs linear time, not a concatenation of everything so far per byte.
   */
  private carry: Buffer | undefined;
  private carryLen = 0;
  /** How much of a carried, unfinished head was already searched for its end. */
  private scanned = 0;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private keepAlive = true;
  private remaining = 0;
  private bodyParts: Buffer[] = [];
  private bodySize = 0;
  private sockError: (Error & { code?: string }) | undefined;
  /** Whether the input being parsed is a reused buffer (copy what is kept). */
  private copy = false;
  /** Whether the input being parsed is the carry buffer. */
  private usingCarry = false;

  constructor(
    private readonly origin: Http1Origin,
    private readonly hooks: {
      /** Asked before the socket is opened: undefined to open it, or why not. */
      fdRefusal?: (() => string | undefined) | undefined;
      /** A socket fdRefusal let open is closed (or never opened). */
      fdReleased?: (() => void) | undefined;
    },
  ) {}

  /**
   * Send one request (`head` ends with the blank line; `body` follows it in the same write)
   * and read its reply whole. Rejects with an Http1Failure; the connection is then dead.
   */
  exchange(head: string, body: string, opts: { timeoutMs: number; maxBody: number; resetOnHead: boolean }): Promise<Http1Reply> {
    if (this.dead) return Promise.reject(new Http1Failure('io', 'the connection is closed'));
    if (this.resolve) return Promise.reject(new Http1Failure('io', 'an exchange is already in flight on this connection'));
    return new Promise<Http1Reply>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.resetOnHead = opts.resetOnHead;
      this.maxBody = opts.maxBody;
      this.phase = Phase.Head;
      this.framing = Framing.None;
      this.status = 0;
      this.headers = {};
      this.bodyParts = [];
      this.bodySize = 0;
      this.timer = setTimeout(timedOut, opts.timeoutMs, this, opts.timeoutMs);
      // Header octets go out as latin1 (a cookie comes back byte for byte), the body as UTF-8.
      const headLen = head.length;
      const data = Buffer.allocUnsafe(headLen + Buffer.byteLength(body));
      data.write(head, 0, headLen, 'latin1');
      if (body !== '') data.write(body, headLen, 'utf8');
      if (!this.socket) {
        this.pendingWrite = data;
        this.open();
      } else if (this.isConnected) this.socket.write(data);
      else this.pendingWrite = data;
    });
  }

  /** Whether another request may go over this connection. */
  get reusable(): boolean {
    return !this.dead && !this.resolve && this.isConnected && this.keepAlive;
  }

  /** Close in an orderly way (FIN); a request in flight fails. */
  close(): void {
    this.dead = true;
    this.cut();
    if (this.socket && !this.socket.destroyed) this.socket.destroy();
  }

  /** Cut the connection the way a broken link does: a TCP reset, no orderly close. */
  reset(): void {
    this.rst();
    this.cut();
  }

  /** The socket goes with a TCP reset (once connected; before that there is nothing to reset). */
  private rst(): void {
    this.dead = true;
    const s = this.socket;
    if (s && !s.destroyed && this.isConnected) {
      try {
        // A TCP reset needs the TCP handle; over TLS a plain destroy is all there is.
        s.resetAndDestroy();
      } catch {
        s.destroy();
      }
    }
  }

  /** Nothing more goes out, and an exchange in flight fails now (not when the socket's close comes). */
  private cut(): void {
    this.pendingWrite = undefined;
    if (this.resolve) this.fail(new Http1Failure('io', 'the connection was cut'));
    else if (this.socket && !this.isConnected && !this.socket.destroyed) this.socket.destroy();
  }

  private open(): void {
    const refused = this.hooks.fdRefusal?.();
    if (refused !== undefined) {
      this.dead = true;
      this.fail(new Http1Failure('descriptors', `${FD_RESERVE_CODE}: ${refused}`, undefined, FD_RESERVE_CODE));
      return;
    }
    const o = this.origin;
    let socket: Owned;
    try {
      if (o.protocol === 'https:') {
        const servername = isIP(o.host) ? undefined : o.host;
        const key = `${o.host}:${o.port}`;
        const session = o.tlsSessions?.get(key);
        socket = tlsConnect({
          host: o.host,
          port: o.port,
          ...(servername ? { servername } : {}),
          ...o.tls,
          ...(session ? { session } : {}),
        }) as Owned;
        socket.on('session', onSession);
        socket.once('secureConnect', onConnect);
      } else {
        socket = netConnect({ host: o.host, port: o.port, noDelay: true, onread: { buffer: READ_BUFFER, callback: onRead } }) as Owned;
        socket.once('connect', onConnect);
      }
    } catch (e) {
      this.dead = true;
      this.hooks.fdReleased?.();
      this.fail(new Http1Failure('connect', (e as Error).message, undefined, (e as { code?: string }).code));
      return;
    }
    socket[CONN] = this;
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    this.socket = socket;
  }

  /** @internal socket listener */
  connected(): void {
    this.isConnected = true;
    const data = this.pendingWrite;
    this.pendingWrite = undefined;
    if (data !== undefined && this.socket) this.socket.write(data);
  }

  /** @internal socket listener */
  keepSession(session: Buffer): void {
    this.origin.tlsSessions?.set(`${this.origin.host}:${this.origin.port}`, session);
  }

  /** @internal socket listener */
  failed(err: Error & { code?: string }): void {
    this.sockError ??= err;
    this.dead = true;
  }

  /** @internal socket listener: the server's FIN. */
  ended(): void {
    if (this.resolve && this.phase === Phase.UntilClose) {
      this.finish();
      this.dead = true;
      return;
    }
    this.dead = true;
    if (this.resolve) this.fail(this.closedFailure());
    // Half-open is of no use to us: close our side too.
    this.socket?.end();
  }

  /** @internal socket listener */
  closed(): void {
    this.dead = true;
    // A body framed by the close is complete at the server's FIN ('end'), never at a close
    // of ours (a cut) or an error.
    if (this.resolve) this.fail(this.closedFailure());
    if (this.socket) {
      this.socket[CONN] = undefined;
      this.socket = undefined;
      this.hooks.fdReleased?.();
    }
  }

  private closedFailure(): Http1Failure {
    const e = this.sockError;
    if (e) {
      const code = e.code;
      // As the undici client this replaced mapped them: a reset once the reply has begun is an I/O error.
      const connect = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || (code === 'ECONNRESET' && this.phase === Phase.Head && this.carryLen === 0);
      const fds = code === 'EMFILE' || code === 'ENFILE';
      return new Http1Failure(fds ? 'descriptors' : connect ? 'connect' : 'io', `${code ?? 'error'}: ${e.message}`, undefined, code);
    }
    return this.isConnected ? new Http1Failure('io', 'other side closed') : new Http1Failure('connect', 'the connection closed before it was established');
  }

  private fail(f: Http1Failure): void {
    const reject = this.reject;
    this.clearExchange();
    this.dead = true;
    if (this.socket && !this.socket.destroyed) this.socket.destroy();
    reject?.(f);
  }

  private finish(): void {
    const resolve = this.resolve;
    const reply: Http1Reply = {
      status: this.status,
      headers: this.headers,
      body: this.bodyParts.length === 1 ? this.bodyParts[0]! : Buffer.concat(this.bodyParts, this.bodySize),
    };
    this.clearExchange();
    if (!this.keepAlive) this.close();
    resolve?.(reply);
  }

  private clearExchange(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.resolve = undefined;
    this.reject = undefined;
    this.bodyParts = [];
    this.carry = undefined;
    this.carryLen = 0;
    this.scanned = 0;
  }

  /** @internal the exchange's deadline ran out */
  timeout(ms: number): void {
    if (!this.resolve) return;
    this.fail(new Http1Failure('timeout', `no complete ACS reply within the ACS timeout (${ms} ms)`));
  }

  /** @internal socket listener: bytes from the server. */
  input(chunk: Buffer, shared: boolean): void {
    if (!this.resolve) {
      // Bytes nobody asked for: the connection's framing is lost.
      this.dead = true;
      this.socket?.destroy();
      return;
    }
    let buf = chunk;
    const carried = this.carryLen > 0;
    if (carried) {
      const need = this.carryLen + chunk.length;
      if (need > this.carry!.length) {
        const grown = Buffer.allocUnsafe(Math.max(need, this.carry!.length * 2));
        this.carry!.copy(grown, 0, 0, this.carryLen);
        this.carry = grown;
      }
      chunk.copy(this.carry!, this.carryLen);
      buf = this.carry!.subarray(0, need);
    }
    this.carryLen = 0;
    // The shared read buffer and our carry buffer are both reused: what is kept is copied.
    this.copy = shared || carried;
    this.usingCarry = carried;
    let at = 0;
    while (this.resolve) {
      switch (this.phase) {
        case Phase.Head: {
          const end = headEnd(buf, at, at === 0 ? Math.max(0, this.scanned - 3) : at);
          if (end < 0) {
            if (buf.length - at > MAX_HEAD_BYTES) return this.fail(new Http1Failure('io', `ACS reply head over ${MAX_HEAD_BYTES} bytes`));
            this.keepTail(buf, at);
            this.scanned = this.carryLen;
            return;
          }
          this.scanned = 0;
          if (end - at > MAX_HEAD_BYTES) return this.fail(new Http1Failure('io', `ACS reply head over ${MAX_HEAD_BYTES} bytes`));
          const problem = this.readHead(buf, at, end);
          at = skipBlankLine(buf, end);
          if (problem) return this.fail(new Http1Failure('io', `malformed HTTP reply from the ACS: ${problem}`));
          if (this.status < 200) continue; // 1xx: an interim reply, the real one follows
          if (this.resetOnHead) {
            const status = this.status;
            this.rst();
            return this.fail(new Http1Failure('reset', 'link reset: connection cut before the ACS reply was read', status));
          }
          if (this.framing === Framing.None) return this.finishAt(buf, at);
          if (this.framing === Framing.Length) {
            if (this.remaining > this.maxBody) return this.fail(new Http1Failure('too-large', `ACS reply of ${this.remaining} bytes is over the ${this.maxBody}-byte cap`));
            if (this.remaining === 0) return this.finishAt(buf, at);
            this.phase = Phase.Length;
          } else if (this.framing === Framing.Chunked) this.phase = Phase.ChunkSize;
          else this.phase = Phase.UntilClose;
          break;
        }
        case Phase.Length: {
          at = this.takeBody(buf, at);
          if (this.remaining === 0) return this.finishAt(buf, at);
          return;
        }
        case Phase.UntilClose: {
          if (at < buf.length) this.body(buf.subarray(at));
          return;
        }
        case Phase.ChunkSize: {
          const nl = buf.indexOf(0x0a, at);
          if (nl < 0) {
            if (buf.length - at > 1024) return this.fail(new Http1Failure('io', 'malformed HTTP reply from the ACS: chunk size line too long'));
            this.keepTail(buf, at);
            return;
          }
          const line = buf.toString('latin1', at, nl).replace(/\r$/, '');
          const m = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/.exec(line);
          if (!m) return this.fail(new Http1Failure('io', `malformed HTTP reply from the ACS: bad chunk size ${JSON.stringify(line.slice(0, 20))}`));
          at = nl + 1;
          const size = parseInt(m[1]!, 16);
          if (size === 0) {
            this.phase = Phase.Trailers;
            break;
          }
          if (this.bodySize + size > this.maxBody) return this.fail(new Http1Failure('too-large', `ACS reply over the ${this.maxBody}-byte cap (cut after ${this.bodySize + size} bytes)`));
          this.remaining = size;
          this.phase = Phase.ChunkData;
          break;
        }
        case Phase.ChunkData: {
          at = this.takeBody(buf, at);
          if (this.remaining > 0) return;
          this.phase = Phase.ChunkEnd;
          break;
        }
        case Phase.ChunkEnd: {
          // CRLF after the chunk's data (a bare LF is tolerated, RFC 9112 section 2.2).
          if (at >= buf.length) return;
          if (buf[at] === 0x0d) {
            if (at + 1 >= buf.length) {
              this.keepTail(buf, at);
              return;
            }
            at++;
          }
          if (buf[at] !== 0x0a) return this.fail(new Http1Failure('io', 'malformed HTTP reply from the ACS: chunk data not followed by CRLF'));
          at++;
          this.phase = Phase.ChunkSize;
          break;
        }
        case Phase.Trailers: {
          const nl = buf.indexOf(0x0a, at);
          if (nl < 0) {
            if (buf.length - at > MAX_HEAD_BYTES) return this.fail(new Http1Failure('io', 'malformed HTTP reply from the ACS: trailers too long'));
            this.keepTail(buf, at);
            return;
          }
          const blank = nl === at || (nl === at + 1 && buf[at] === 0x0d);
          at = nl + 1;
          if (blank) return this.finishAt(buf, at);
          break;
        }
      }
    }
  }

  /** Up to `remaining` body bytes from buf[at..]; where the input goes on. */
  private takeBody(buf: Buffer, at: number): number {
    const take = Math.min(this.remaining, buf.length - at);
    if (take > 0) this.body(buf.subarray(at, at + take));
    this.remaining -= take;
    return at + take;
  }

  /** The reply ended at buf[at]: bytes past it mean the framing is lost, so the connection is not reused. */
  private finishAt(buf: Buffer, at: number): void {
    if (at < buf.length) this.dead = true;
    this.finish();
  }

  /** Carry buf[at..] to the next read. */
  private keepTail(buf: Buffer, at: number): void {
    const n = buf.length - at;
    if (this.usingCarry) {
      // buf is the carry buffer itself: move the rest to its start (nothing to move at 0).
      if (at > 0) this.carry!.copyWithin(0, at, buf.length);
    } else {
      if (!this.carry || this.carry.length < n) this.carry = Buffer.allocUnsafe(Math.max(n, 256));
      buf.copy(this.carry, 0, at);
    }
    this.carryLen = n;
  }

  /** Keep a piece of the body; false (and the exchange failed) past the cap. */
  private body(part: Buffer): boolean {
    this.bodySize += part.length;
    if (this.bodySize > this.maxBody) {
      this.fail(new Http1Failure('too-large', `ACS reply over the ${this.maxBody}-byte cap (cut after ${this.bodySize} bytes)`));
      return false;
    }
    this.bodyParts.push(this.copy ? Buffer.from(part) : part);
    return true;
  }

  /** Parse the status line and headers; a problem's description, or undefined. */
  private readHead(buf: Buffer, from: number, to: number): string | undefined {
    // One latin1 string for the head, read with indexOf and charCodeAt: the cheapest way
    // through a few short lines in V8 (field names and values are latin1 octets, RFC 9110 5.5).
    const h = buf.toString('latin1', from, to);
    let eol = h.indexOf('\n');
    if (eol < 0) eol = h.length;
    const lineEnd = eol > 0 && h.charCodeAt(eol - 1) === 0x0d ? eol - 1 : eol;
    // The status line: HTTP/1.x SP 3DIGIT [SP reason] (RFC 9112 section 4).
    const minor = h.charCodeAt(7);
    const d0 = h.charCodeAt(9) - 0x30;
    const d1 = h.charCodeAt(10) - 0x30;
    const d2 = h.charCodeAt(11) - 0x30;
    if (
      lineEnd < 12 ||
      !h.startsWith('HTTP/1.') ||
      (minor !== 0x30 && minor !== 0x31) ||
      h.charCodeAt(8) !== 0x20 ||
      !(d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) ||
      (lineEnd > 12 && h.charCodeAt(12) !== 0x20)
    ) {
      return `bad status line ${JSON.stringify(h.slice(0, Math.min(lineEnd, 40)))}`;
    }
    this.status = d0 * 100 + d1 * 10 + d2;
    if (this.status < 100) return `bad status ${this.status}`;
    // No prototype: a header named __proto__ or constructor is just a header.
    const headers = Object.create(null) as Record<string, string | string[] | undefined>;
    let at = eol + 1;
    while (at < h.length) {
      let next = h.indexOf('\n', at);
      if (next < 0) next = h.length;
      const end = next > at && h.charCodeAt(next - 1) === 0x0d ? next - 1 : next;
      // field-name ":" OWS field-value OWS (RFC 9112 section 5): the name is a token.
      let colon = h.indexOf(':', at);
      if (colon >= end) colon = -1;
      if (colon <= at) return `bad header line ${JSON.stringify(h.slice(at, Math.min(end, at + 40)))}`;
      for (let k = at; k < colon; k++) {
        if (TOKEN_BYTE[h.charCodeAt(k)] !== 1) return `bad header name ${JSON.stringify(h.slice(at, Math.min(colon, at + 40)))}`;
      }
      let vs = colon + 1;
      let ve = end;
      while (vs < ve && (h.charCodeAt(vs) === 0x20 || h.charCodeAt(vs) === 0x09)) vs++;
      while (ve > vs && (h.charCodeAt(ve - 1) === 0x20 || h.charCodeAt(ve - 1) === 0x09)) ve--;
      const name = h.slice(at, colon).toLowerCase();
      const value = h.slice(vs, ve);
      const had = headers[name];
      if (had === undefined) headers[name] = value;
      else if (Array.isArray(had)) had.push(value);
      else headers[name] = [had, value];
      at = next + 1;
    }
    this.headers = headers;
    if (this.status < 200) {
      if (this.status === 101) return 'an unasked protocol switch (101)';
      return undefined;
    }
    const connection = joined(headers['connection']).toLowerCase();
    this.keepAlive = minor === 0x31 ? !/(?:^|,)\s*close\s*(?:,|$)/.test(connection) : /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(connection);
    const hint = KEEP_ALIVE_TIMEOUT.exec(joined(headers['keep-alive']));
    this.keepAliveHintMs = hint ? Number(hint[1]) * 1000 : undefined;
    const te = joined(headers['transfer-encoding']).toLowerCase();
    if (this.status === 204 || this.status === 304) this.framing = Framing.None;
    else if (te) {
      // RFC 9112 section 6.3: chunked last means chunked framing; any other coding, the body runs to the close.
      if (/(?:^|,)\s*chunked\s*$/.test(te)) this.framing = Framing.Chunked;
      else {
        this.framing = Framing.UntilClose;
        this.keepAlive = false;
      }
      // A Content-Length beside Transfer-Encoding is ignored, and the connection not reused (section 6.1).
      if (headers['content-length'] !== undefined) this.keepAlive = false;
    } else if (headers['content-length'] !== undefined) {
      const cl = headers['content-length'];
      const values = (Array.isArray(cl) ? cl : [cl]).flatMap((v) => v.split(',')).map((v) => v.trim());
      if (!values.every((v) => /^\d{1,15}$/.test(v)) || new Set(values).size !== 1) return `bad Content-Length ${JSON.stringify(joined(cl))}`;
      this.remaining = Number(values[0]);
      this.framing = Framing.Length;
    } else {
      this.framing = Framing.UntilClose;
      this.keepAlive = false;
    }
    return undefined;
  }
}

function timedOut(conn: Http1Conn, ms: number): void {
  conn.timeout(ms);
}

const joined = (v: string | string[] | undefined): string => (v === undefined ? '' : Array.isArray(v) ? v.join(', ') : v);

/** Index of the line break that ends the head (before the blank line), or -1 while incomplete. */
function headEnd(buf: Buffer, from: number, scanFrom: number): number {
  let i = buf.indexOf(0x0a, scanFrom);
  while (i >= 0) {
    // "\n\n" or "\n\r\n": a blank line follows this line's end.
    if (buf[i + 1] === 0x0a) return lineEndStart(buf, i, from);
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return lineEndStart(buf, i, from);
    if (i + 2 >= buf.length) return -1;
    i = buf.indexOf(0x0a, i + 1);
  }
  return -1;
}

/** The line that ends at LF `i` ends before its CR, if any. */
function lineEndStart(buf: Buffer, i: number, from: number): number {
  return i > from && buf[i - 1] === 0x0d ? i - 1 : i;
}

/** Past the end of the last header line and the blank line that follows it. */
function skipBlankLine(buf: Buffer, end: number): number {
  let at = end;
  if (buf[at] === 0x0d) at++;
  at++; // the last header line's LF
  if (buf[at] === 0x0d) at++;
  return at + 1; // the blank line's LF
}
