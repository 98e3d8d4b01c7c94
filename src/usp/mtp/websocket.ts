// The WebSocket MTP of one simulated USP agent as a WebSocket client (TR-369 "WebSocket
// Binding", R-WS.*; RFC 6455; docs/usp-behaviour.md "WebSocket"): the handshake with
// subprotocol `v1.usp` and the `bbf-usp-protocol` extension carrying the agent's Endpoint
// ID, one binary frame per Record, Ping keepalive, Close. Backoff and the WebSocketConnect
// Record are the caller's (usp-connections.ts, usp-side.ts).
//
// The client is our own, on node:net / node:tls: the `ws` client refuses any
// Sec-WebSocket-Extensions in the server's answer unless it negotiated permessage-deflate,
// and R-WS.11a makes a USP controller answer with `bbf-usp-protocol`. It is also lean: per
// agent one socket, this object and, while keepalive is on, one timer.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';

import type { LinkEvents } from './link.js';
import { type TlsFiles } from './tls.js';
import { SocketLink } from './socket-link.js';

/** R-WS.9: the subprotocol of USP Records in protobuf encoding. */
export const USP_WS_SUBPROTOCOL = 'v1.usp';
/** R-WS.10a / R-WS.11a: the extension that carries an Endpoint ID. */
export const USP_WS_EXTENSION = 'bbf-usp-protocol';
/** The largest Record the agent takes or sends in one message; more closes with 1009. */
export const WS_MAX_MESSAGE_BYTES = 1024 * 1024;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Bound on the server's handshake answer. */
const MAX_HANDSHAKE_BYTES = 16 * 1024;

export interface WsMtpOptions extends TlsFiles {
  /** ws://host:port/path or wss://host:port/path of the controller. */
  url: string;
  endpointId: string;
  /** Seconds between Pings (R-WS.17, R-WS.18); a Ping unanswered by the next one ends the connection. 0: none. */
  keepAliveSec: number;
  /** Bound on one attempt: TCP/TLS connect and the handshake. */
  connectTimeoutMs: number;
}

export class WsMtpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WsMtpError';
  }
}

/** `bbf-usp-protocol; eid="<id>"`: the header value R-WS.10a asks for (a quoted-string, RFC 7230 3.2.6). */
export function uspExtensionHeader(endpointId: string): string {
  return `${USP_WS_EXTENSION}; eid="${endpointId.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The `eid` of a `bbf-usp-protocol` extension in a Sec-WebSocket-Extensions value, if any. */
export function eidOfExtensions(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const ext of header.split(',')) {
    const [name, ...params] = ext.split(';').map((x) => x.trim());
    if (name?.toLowerCase() !== USP_WS_EXTENSION) continue;
    for (const p of params) {
      const m = /^eid\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))$/i.exec(p);
      if (m) return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
    }
  }
  return undefined;
}

/** Sec-WebSocket-Accept for a key (RFC 6455 4.2.2). */
export function acceptOf(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

export const enum Op {
  Continuation = 0,
  Text = 1,
  Binary = 2,
  Close = 8,
  Ping = 9,
  Pong = 10,
}

/** One frame, FIN set, masked with a fresh key as a client must (RFC 6455 5.3). */
export function clientFrame(op: Op, payload: Uint8Array): Buffer {
  const len = payload.byteLength;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | op;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  const at = head + 4;
  for (let i = 0; i < len; i++) out[at + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

const closePayload = (code: number, reason = ''): Buffer => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
};

export class WsMtp extends SocketLink<WsMtpOptions> {
  private key = '';
  /** A fragmented message being assembled. */
  private parts: Buffer[] | undefined;
  private partsBytes = 0;
  private awaitingPong = false;
  /** The controller's Endpoint ID from its handshake answer (R-WS.11a), when it sent one. */
  peerEndpointId: string | undefined;

  constructor(opts: WsMtpOptions, events: LinkEvents) {
    super(opts, events, {
      name: 'websocket',
      schemes: ['ws:', 'wss:'],
      ports: [80, 443],
      alpn: ['http/1.1'],
      error: (m) => new WsMtpError(m),
      connectTimeout: 'websocket connect timeout (no handshake answer in time)',
      closedWhenUp: 'connection closed by controller',
      closedBeforeUp: 'connection closed before the handshake answer',
    });
  }

  maxPayloadTo(): number {
    return WS_MAX_MESSAGE_BYTES;
  }

  protected resetAttempt(): void {
    this.parts = undefined;
    this.partsBytes = 0;
    this.awaitingPong = false;
    this.peerEndpointId = undefined;
    this.key = randomBytes(16).toString('base64');
  }

  protected greet(sock: Socket): void {
    this.sendHandshake(sock);
  }

  publish(_dest: string, payload: Uint8Array): Promise<void> {
    const sock = this.sock;
    if (this.st !== 'up' || sock === undefined) return Promise.reject(new WsMtpError(`websocket mtp: publish in state ${this.st}`));
    return new Promise((resolve, reject) => sock.write(clientFrame(Op.Binary, payload), (err) => (err ? reject(err) : resolve())));
  }

  /** The goodbye Record, then a Close frame (RFC 6455 7.1.2): the server answers Close and closes the TCP connection. */
  protected goodbye(sock: Socket, final: { topic: string; payload: Uint8Array } | undefined): void {
    if (final !== undefined) sock.write(clientFrame(Op.Binary, final.payload));
    sock.write(clientFrame(Op.Close, closePayload(1000)));
  }

  // ---- internals -------------------------------------------------------------------------

  private sendHandshake(sock: Socket): void {
    if (sock !== this.sock) return;
    const t = this.target;
    sock.write(
      `GET ${t.path} HTTP/1.1\r\n` +
        `Host: ${t.hostHeader}\r\n` +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${this.key}\r\n` +
        'Sec-WebSocket-Version: 13\r\n' +
        `Sec-WebSocket-Protocol: ${USP_WS_SUBPROTOCOL}\r\n` +
        `Sec-WebSocket-Extensions: ${uspExtensionHeader(this.opts.endpointId)}\r\n\r\n`,
    );
  }

  protected onData(sock: Socket, d: Buffer): void {
    if (sock !== this.sock) return;
    this.pending = this.pending === undefined ? d : Buffer.concat([this.pending, d]);
    if (this.st === 'connecting') {
      const at = this.pending.indexOf('\r\n\r\n');
      if (at < 0) {
        if (this.pending.length > MAX_HANDSHAKE_BYTES) this.end(sock, 'websocket handshake answer too long', 'rejected');
        return;
      }
      const head = this.pending.subarray(0, at).toString('latin1');
      const rest = this.pending.subarray(at + 4);
      this.pending = rest.length > 0 ? rest : undefined;
      const refused = this.checkHandshake(head);
      if (refused !== undefined) {
        this.end(sock, refused, 'rejected');
        return;
      }
      this.clearTimer();
      this.st = 'up';
      if (this.opts.keepAliveSec > 0) this.timer = setInterval(() => this.keepAlive(sock), this.opts.keepAliveSec * 1000);
      this.events.onUp({ replyTopic: '', discovered: false });
      if (this.pending === undefined || sock !== this.sock) return;
    }
    this.parseFrames(sock);
  }

  /** Why the server's answer is no USP WebSocket session (R-WS.12), or undefined if it is one. */
  private checkHandshake(head: string): string | undefined {
    const [status, ...lines] = head.split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3})/.exec(status ?? '');
    if (!m) return `websocket handshake: not an HTTP/1.1 answer: ${JSON.stringify((status ?? '').slice(0, 80))}`;
    if (m[1] !== '101') return `websocket handshake refused: ${status}`;
    const h = new Map<string, string>();
    for (const line of lines) {
      const c = line.indexOf(':');
      if (c <= 0) continue;
      const name = line.slice(0, c).trim().toLowerCase();
      const value = line.slice(c + 1).trim();
      h.set(name, h.has(name) ? `${h.get(name)}, ${value}` : value);
    }
    if (h.get('upgrade')?.toLowerCase() !== 'websocket') return 'websocket handshake: no "Upgrade: websocket"';
    if (h.get('sec-websocket-accept') !== acceptOf(this.key)) return 'websocket handshake: wrong Sec-WebSocket-Accept';
    const proto = h.get('sec-websocket-protocol');
    if (proto !== USP_WS_SUBPROTOCOL) return `websocket handshake: the server did not select subprotocol ${USP_WS_SUBPROTOCOL} (got ${proto === undefined ? 'none' : JSON.stringify(proto)}; R-WS.12)`;
    // R-WS.11b: an answer without bbf-usp-protocol is no error.
    this.peerEndpointId = eidOfExtensions(h.get('sec-websocket-extensions'));
    return undefined;
  }

  private parseFrames(sock: Socket): void {
    while (this.pending !== undefined && sock === this.sock) {
      const b = this.pending;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const rsv = b[0]! & 0x70;
      const op = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(WS_MAX_MESSAGE_BYTES)) return this.protocolClose(sock, 1009, 'message too big');
        len = Number(big);
        at = 10;
      }
      // A server never masks (RFC 6455 5.1); no extension was negotiated, so no RSV bit.
      if (masked || rsv !== 0) return this.protocolClose(sock, 1002, masked ? 'masked server frame' : 'RSV bit set');
      if (len > WS_MAX_MESSAGE_BYTES) return this.protocolClose(sock, 1009, 'message too big');
      if (b.length < at + len) return;
      const payload = b.subarray(at, at + len);
      this.pending = b.length > at + len ? b.subarray(at + len) : undefined;
      this.awaitingPong = false; // anything from the peer shows the link alive
      if (op >= 8) {
        if (!fin || len > 125) return this.protocolClose(sock, 1002, 'bad control frame');
        this.control(sock, op, payload);
        continue;
      }
      if (op === Op.Continuation) {
        if (this.parts === undefined) return this.protocolClose(sock, 1002, 'continuation without a message');
      } else if (this.parts !== undefined) {
        return this.protocolClose(sock, 1002, 'new message inside a fragmented one');
      } else if (op === Op.Text) {
        // R-WS.16: a Record that cannot be extracted (a text frame) closes with 1003.
        return this.protocolClose(sock, 1003, 'USP Records travel in binary frames');
      } else if (op !== Op.Binary) {
        return this.protocolClose(sock, 1002, `unknown opcode ${op}`);
      } else {
        this.parts = [];
        this.partsBytes = 0;
      }
      this.partsBytes += len;
      if (this.partsBytes > WS_MAX_MESSAGE_BYTES) return this.protocolClose(sock, 1009, 'message too big');
      this.parts.push(payload);
      if (!fin) continue;
      const message = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
      this.parts = undefined;
      this.events.onRecord(message, undefined);
    }
  }

  private control(sock: Socket, op: number, payload: Buffer): void {
    if (op === Op.Ping) sock.write(clientFrame(Op.Pong, payload));
    else if (op === Op.Close) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const text = payload.length > 2 ? `: ${payload.subarray(2).toString('utf8')}` : '';
      this.ending = { reason: `controller closed the WebSocket (code ${code}${text})`, cause: 'closed' };
      // Echo the Close (RFC 6455 5.5.1), then the server closes TCP.
      sock.end(clientFrame(Op.Close, payload.length >= 2 ? payload.subarray(0, 2) : new Uint8Array(0)));
    }
    // A Pong needs nothing more: any frame already cleared awaitingPong.
  }

  /** Close with `code` (a protocol error, R-WS.16) and end the attempt. */
  private protocolClose(sock: Socket, code: number, why: string): void {
    this.ending = { reason: `websocket: ${why} (closed with ${code})`, cause: 'error' };
    this.pending = undefined;
    sock.end(clientFrame(Op.Close, closePayload(code, why.slice(0, 100))));
    setTimeout(() => sock.destroy(), 1000).unref();
  }

  private keepAlive(sock: Socket): void {
    if (sock !== this.sock) return;
    if (this.awaitingPong) {
      this.end(sock, `websocket keepalive: no answer to a Ping within ${this.opts.keepAliveSec} s`, 'timeout');
      return;
    }
    this.awaitingPong = true;
    sock.write(clientFrame(Op.Ping, new Uint8Array(0)));
  }
}

