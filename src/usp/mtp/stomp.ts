// The STOMP MTP of one simulated USP agent (TR-369 "STOMP Binding", R-STOMP.*; STOMP 1.2;
// docs/usp-behaviour.md "STOMP"): the STOMP frame with the agent's credentials, virtual
// host, heart-beats and endpoint-id; the destination from CONNECTED's subscribe-dest or the
// configured one; SUBSCRIBE (ack auto, with a receipt: up once the broker confirmed it);
// SEND with content-type application/vnd.bbf.usp.msg, content-length and reply-to-dest;
// heart-beats both ways. Backoff and the STOMPConnect Record are the caller's.
//
// The client is our own on node:net / node:tls: the frame format is small, the maintained
// JavaScript clients (@stomp/stompjs) speak STOMP over WebSocket and need an adapter for
// TCP, and an agent that runs 10,000 times must hold no more than a socket, this object and
// one heart-beat timer.
import type { Socket } from 'node:net';

import type { LinkEvents } from './link.js';
import { type TlsFiles } from './tls.js';
import { SocketLink } from './socket-link.js';

/** R-STOMP.22: the content-type of a SEND carrying a USP Record. */
export const USP_STOMP_CONTENT_TYPE = 'application/vnd.bbf.usp.msg';
/** The largest frame body taken or sent (a larger Record is answered 7005 by the agent). */
export const STOMP_MAX_BODY_BYTES = 1024 * 1024;
/** Bound on a frame's command and headers. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface StompMtpOptions extends TlsFiles {
  /** stomp://host:port or stomps://host:port. */
  url: string;
  endpointId: string;
  /** STOMP.Connection.{i}.VirtualHost: the `host` header (R-STOMP.5). */
  virtualHost: string;
  login?: string | undefined;
  passcode?: string | undefined;
  /** LocalAgent.MTP.{i}.STOMP.Destination; '' when none is configured. */
  destination: string;
  /** [outgoing, incoming] ms offered in heart-beat (R-STOMP.8, R-STOMP.10); undefined: no heart-beat header (R-STOMP.9). */
  heartbeat?: [number, number] | undefined;
  /** Bound on one attempt: TCP/TLS connect, CONNECTED and the SUBSCRIBE receipt. */
  connectTimeoutMs: number;
}

export interface StompFrame {
  command: string;
  headers: Map<string, string>;
  body: Buffer;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', ':': '\\c' };
/** STOMP 1.2 header escaping (every frame but CONNECT, STOMP and CONNECTED). */
export const escapeHeader = (v: string): string => v.replace(/[\\\n\r:]/g, (c) => ESCAPES[c]!);
export function unescapeHeader(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'c' ? ':' : c === '\\' ? '\\' : `\\${c}`));
}

/** One frame's bytes; `raw`: no header escaping (the STOMP and CONNECT frames). */
export function encodeFrame(command: string, headers: Array<[string, string]>, body?: Uint8Array, raw = false): Buffer {
  let head = `${command}\n`;
  for (const [k, v] of headers) head += `${raw ? k : escapeHeader(k)}:${raw ? v : escapeHeader(v)}\n`;
  if (body !== undefined) head += `content-length:${body.byteLength}\n`;
  head += '\n';
  const h = Buffer.from(head, 'utf8');
  if (body === undefined) return Buffer.concat([h, Buffer.from([0])]);
  return Buffer.concat([h, body, Buffer.from([0])]);
}

/**
 * Take the frames out of `buf`; returns them and the bytes left over (an incomplete frame),
 * or an error for a frame that breaks the format. Heart-beat EOLs between frames are counted.
 */
export function decodeFrames(buf: Buffer, maxBody = STOMP_MAX_BODY_BYTES): { frames: StompFrame[]; rest: Buffer | undefined; eols: number; error?: string } {
  const frames: StompFrame[] = [];
  let at = 0;
  let eols = 0;
  for (;;) {
    while (at < buf.length && (buf[at] === 0x0a || buf[at] === 0x0d)) {
      if (buf[at] === 0x0a) eols++;
      at++;
    }
    if (at >= buf.length) return { frames, rest: undefined, eols };
    const end = buf.indexOf('\n\n', at);
    const endCr = buf.indexOf('\r\n\r\n', at);
    const headEnd = end < 0 ? endCr : endCr < 0 ? end : Math.min(end, endCr);
    if (headEnd < 0) {
      if (buf.length - at > MAX_HEAD_BYTES) return { frames, rest: undefined, eols, error: 'frame headers too long' };
      return { frames, rest: buf.subarray(at), eols };
    }
    const bodyAt = headEnd + (headEnd === endCr ? 4 : 2);
    const lines = buf.subarray(at, headEnd).toString('utf8').split(/\r?\n/);
    const command = lines[0]!;
    const headers = new Map<string, string>();
    const escaped = command !== 'CONNECTED';
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      if (c < 0) continue;
      const k = escaped ? unescapeHeader(line.slice(0, c)) : line.slice(0, c);
      // STOMP 1.2: a repeated header keeps its first value.
      if (!headers.has(k)) headers.set(k, escaped ? unescapeHeader(line.slice(c + 1)) : line.slice(c + 1));
    }
    const len = headers.get('content-length');
    let bodyEnd: number;
    if (len !== undefined) {
      const n = Number(len);
      if (!Number.isInteger(n) || n < 0) return { frames, rest: undefined, eols, error: `bad content-length ${JSON.stringify(len)}` };
      if (n > maxBody) return { frames, rest: undefined, eols, error: `frame body of ${n} bytes is over ${maxBody}` };
      if (buf.length < bodyAt + n + 1) return { frames, rest: buf.subarray(at), eols };
      if (buf[bodyAt + n] !== 0) return { frames, rest: undefined, eols, error: 'frame body not followed by NUL' };
      bodyEnd = bodyAt + n;
    } else {
      bodyEnd = buf.indexOf(0, bodyAt);
      if (bodyEnd < 0) {
        if (buf.length - bodyAt > maxBody) return { frames, rest: undefined, eols, error: `frame body over ${maxBody} bytes` };
        return { frames, rest: buf.subarray(at), eols };
      }
    }
    frames.push({ command, headers, body: buf.subarray(bodyAt, bodyEnd) });
    at = bodyEnd + 1;
  }
}

/** STOMP 1.2 "Heart-beating": each side's period, 0 for none. */
export function negotiateHeartbeat(ours: [number, number], theirs: string | undefined): { send: number; expect: number } {
  const [sx, sy] = (theirs ?? '0,0').split(',').map((x) => Number(x) || 0) as [number, number];
  const [cx, cy] = ours;
  return { send: cx === 0 || sy === 0 ? 0 : Math.max(cx, sy), expect: cy === 0 || sx === 0 ? 0 : Math.max(cy, sx) };
}

export class StompMtpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StompMtpError';
  }
}

const SUBSCRIPTION_ID = '0';
const SUBSCRIBE_RECEIPT = 'usp-subscribe';
const EOL = Buffer.from('\n');

export class StompMtp extends SocketLink<StompMtpOptions> {
  /** The destination in effect: subscribe-dest, else the configured one. */
  private dest = '';
  private discovered = false;
  private beats = { send: 0, expect: 0 };
  private lastRx = 0;
  private lastTx = 0;

  constructor(opts: StompMtpOptions, events: LinkEvents) {
    super(opts, events, {
      name: 'stomp',
      schemes: ['stomp:', 'stomps:'],
      ports: [61613, 61614],
      error: (m) => new StompMtpError(m),
      connectTimeout: 'stomp connect timeout (no CONNECTED or SUBSCRIBE receipt in time)',
      closedWhenUp: 'connection closed by the STOMP broker',
      closedBeforeUp: 'connection closed before the SUBSCRIBE receipt',
    });
  }

  /** The destination this agent receives on and names as reply-to-dest. */
  get destination(): string {
    return this.dest;
  }

  maxPayloadTo(): number {
    return STOMP_MAX_BODY_BYTES;
  }

  protected resetAttempt(): void {
    this.dest = this.opts.destination;
    this.discovered = false;
    this.beats = { send: 0, expect: 0 };
  }

  protected greet(sock: Socket): void {
    this.sendConnect(sock);
  }

  publish(dest: string, payload: Uint8Array): Promise<void> {
    const sock = this.sock;
    if (this.st !== 'up' || sock === undefined) return Promise.reject(new StompMtpError(`stomp mtp: publish in state ${this.st}`));
    return new Promise((resolve, reject) => this.write(sock, this.sendFrame(dest, payload), (err) => (err ? reject(err) : resolve())));
  }

  /** The goodbye Record, then DISCONNECT (R-STOMP.31): the broker closes. */
  protected goodbye(sock: Socket, final: { topic: string; payload: Uint8Array } | undefined): void {
    if (final !== undefined) sock.write(this.sendFrame(final.topic, final.payload));
    sock.end(encodeFrame('DISCONNECT', []));
  }

  // ---- internals -------------------------------------------------------------------------

  private sendFrame(dest: string, payload: Uint8Array): Buffer {
    // R-STOMP.21, R-STOMP.22, R-STOMP.24: content-length (added by encodeFrame), content-type, reply-to-dest.
    return encodeFrame('SEND', [['destination', dest], ['content-type', USP_STOMP_CONTENT_TYPE], ['reply-to-dest', this.dest]], payload);
  }

  private write(sock: Socket, bytes: Buffer, cb?: (err?: Error | null) => void): void {
    this.lastTx = Date.now();
    sock.write(bytes, cb);
  }

  private sendConnect(sock: Socket): void {
    if (sock !== this.sock) return;
    const o = this.opts;
    // R-STOMP.2 to R-STOMP.5, R-STOMP.8 to R-STOMP.10. The STOMP frame's headers are not escaped (STOMP 1.2).
    const headers: Array<[string, string]> = [['accept-version', '1.2'], ['host', o.virtualHost]];
    if (o.login !== undefined) headers.push(['login', o.login]);
    if (o.passcode !== undefined) headers.push(['passcode', o.passcode]);
    if (o.heartbeat) headers.push(['heart-beat', `${o.heartbeat[0]},${o.heartbeat[1]}`]);
    headers.push(['endpoint-id', o.endpointId]);
    this.write(sock, encodeFrame('STOMP', headers, undefined, true));
  }

  protected onData(sock: Socket, d: Buffer): void {
    if (sock !== this.sock) return;
    this.lastRx = Date.now();
    const buf = this.pending === undefined ? d : Buffer.concat([this.pending, d]);
    const r = decodeFrames(buf);
    this.pending = r.rest;
    for (const f of r.frames) {
      if (sock !== this.sock) return;
      this.frame(sock, f);
    }
    if (r.error !== undefined && sock === this.sock) this.end(sock, `stomp: ${r.error}`, 'error');
  }

  private frame(sock: Socket, f: StompFrame): void {
    switch (f.command) {
      case 'CONNECTED': {
        if (this.st !== 'connecting') return;
        const given = f.headers.get('subscribe-dest');
        // R-STOMP.6, R-STOMP.15: the broker's subscribe-dest wins; R-STOMP.16: else the configured one.
        if (given) {
          this.dest = given;
          this.discovered = true;
        }
        if (this.dest === '') {
          // R-STOMP.17: no destination at all: DISCONNECT, the MTP is down.
          this.ending = { reason: 'stomp: no subscribe-dest from the broker and no configured destination (LocalAgent.MTP.1.STOMP.Destination)', cause: 'subscribe' };
          sock.end(encodeFrame('DISCONNECT', []));
          return;
        }
        if (this.opts.heartbeat) this.beats = negotiateHeartbeat(this.opts.heartbeat, f.headers.get('heart-beat'));
        // R-STOMP.13, R-STOMP.14, R-STOMP.18; the receipt says the broker took the subscription.
        this.write(sock, encodeFrame('SUBSCRIBE', [['id', SUBSCRIPTION_ID], ['destination', this.dest], ['ack', 'auto'], ['receipt', SUBSCRIBE_RECEIPT]]));
        return;
      }
      case 'RECEIPT':
        if (this.st === 'connecting' && f.headers.get('receipt-id') === SUBSCRIBE_RECEIPT) {
          this.clearTimer();
          this.st = 'up';
          this.startBeats(sock);
          this.events.onUp({ replyTopic: this.dest, discovered: this.discovered });
        }
        return;
      case 'MESSAGE': {
        if (this.st !== 'up') return;
        const ct = f.headers.get('content-type');
        if (ct !== undefined && !ct.startsWith(USP_STOMP_CONTENT_TYPE)) return; // not a USP Record
        // R-STOMP.26: the answer goes to reply-to-dest.
        this.events.onRecord(f.body, f.headers.get('reply-to-dest'));
        return;
      }
      case 'ERROR': {
        // R-STOMP.7, R-STOMP.19, R-STOMP.28: the broker closes; retry.
        const text = [f.headers.get('message'), f.body.toString('utf8').trim()].filter(Boolean).join(': ');
        this.ending = { reason: `stomp ERROR from the broker${text ? `: ${text.slice(0, 200)}` : ''}`, cause: this.st === 'connecting' ? 'rejected' : 'closed' };
        this.end(sock, this.ending.reason, this.ending.cause);
        return;
      }
      default:
        return;
    }
  }

  /** Heart-beats both ways (R-STOMP.11): an EOL when nothing else went out; the link is dead after twice the expected period of silence. */
  private startBeats(sock: Socket): void {
    const { send, expect } = this.beats;
    if (send === 0 && expect === 0) return;
    const tick = Math.min(...[send, expect].filter((x) => x > 0));
    this.lastRx = this.lastTx = Date.now();
    this.timer = setInterval(() => {
      if (sock !== this.sock) return;
      const now = Date.now();
      if (expect > 0 && now - this.lastRx > 2 * expect) {
        this.end(sock, `stomp heart-beat: nothing from the broker for ${now - this.lastRx} ms (expected every ${expect} ms)`, 'timeout');
        return;
      }
      if (send > 0 && now - this.lastTx >= send - tick / 2) this.write(sock, EOL);
    }, tick);
  }
}
