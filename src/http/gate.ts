// The protocol gate in front of each uWebSockets.js listener (src/http/uws.ts): a node:net
// server on the public host:port that reads a connection's first request head, answers
// what uWS would not (uWS holds such a socket silently until its idle timeout, offering
// no hook to see it), and hands an HTTP/1.1 request it can take over to uWS on a private
// Unix socket, piping both ways for the rest of the connection (keep-alive included).
//
// Answered here, each with a JSON {error} body and the connection closed:
// 505 another HTTP version (1.0, 0.9, 1.2, "2.0" in a text request line, the HTTP/2
// preface: only HTTP/1.1 is served; TR-069 3.2.2 connection requests are HTTP/1.1),
// 400 what is not an HTTP/1.1 request head (garbage, bare LF line ends, a header field
// without a name or with control characters, folded lines, no Host or two, a target that
// is not a path, a bad or doubled Content-Length, Content-Length with Transfer-Encoding),
// 501 a method or a transfer coding uWS does not implement, 414 a request line over
// 8 KiB, 431 a head over 16 KiB or with more than 40 fields, 408 a head not complete
// within 10 s. Later requests on a kept-alive connection are uWS's to parse: one it
// cannot take is closed by uWS's idle timeout (10 s).
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Largest request line; longer gets 414. */
export const MAX_REQUEST_LINE = 8 * 1024;
/** Largest request head (request line and header fields); larger gets 431. */
export const MAX_HEAD = 16 * 1024;
/** Most header fields in a head (this uWS build silently holds a request with 49 or more); more gets 431. */
export const MAX_FIELDS = 40;
/** A client has this long to send its first request head; then 408. */
export const HEAD_TIMEOUT_MS = 10_000;
/** After an error answer, how long the gate still reads (and drops) what the client sends before it closes. */
const LINGER_MS = 2_000;
/** After uWS closed a connection, how long a client has to read what uWS sent before it. */
const DRAIN_MS = 10_000;

/** The methods uWS serves; it closes the connection on any other. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters other than HTAB (RFC 9110 5.5: not in a field value). */
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Control characters and space: not in a request target (RFC 9112 3.2). */
const TARGET_BAD = /[\x00-\x20\x7f]/;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

export interface Refusal {
  status: number;
  message: string;
}

const refuse = (status: number, message: string): Refusal => ({ status, message });
const quoted = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);

/** The request line (without its CRLF): undefined when uWS can take it, else what to answer. */
export function checkRequestLine(line: string): Refusal | undefined {
  const parts = line.split(' ');
  if (parts.length === 3) {
    const [method, target, version] = parts as [string, string, string];
    if (!TOKEN.test(method) || target === '' || !/^HTTP\/\d+(\.\d+)?$/.test(version)) return refuse(400, `not an HTTP request line: ${quoted(line)}`);
    if (version !== 'HTTP/1.1') return refuse(505, `${version} is not served here: this listener speaks HTTP/1.1 only`);
    if (!METHODS.has(method)) return refuse(501, `method ${quoted(method)} is not implemented here (${[...METHODS].join(', ')})`);
    if (target[0] !== '/' || TARGET_BAD.test(target)) return refuse(400, `the request target must be a path (origin-form, RFC 9112 3.2.1): ${quoted(target)}`);
    return undefined;
  }
  // "GET /path" without a version is HTTP/0.9.
  if (parts.length === 2 && TOKEN.test(parts[0]!) && parts[1]!.startsWith('/')) return refuse(505, 'HTTP/0.9 is not served here: this listener speaks HTTP/1.1 only');
  return refuse(400, `not an HTTP request line: ${quoted(line)}`);
}

/**
 * The header fields of a head whose request line passed (`fields`: the text between the
 * request line's CRLF and the blank line, CRLF-separated): undefined when uWS can take
 * them, else what to answer.
 */
export function checkFields(fields: string): Refusal | undefined {
  if (fields === '') return refuse(400, 'an HTTP/1.1 request needs a Host header (RFC 9112 3.2)');
  const lines = fields.split('\r\n');
  if (lines.length > MAX_FIELDS) return refuse(431, `more than ${MAX_FIELDS} header fields`);
  let hosts = 0;
  let length: string | undefined;
  let coding: string | undefined;
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    // A name with a space or HTAB (before the colon, or a folded line) is refused (RFC 9112 5.1, 5.2).
    if (colon <= 0 || !TOKEN.test(name)) return refuse(400, `malformed header field: ${quoted(line)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (CTL.test(value)) return refuse(400, `control characters in header field ${name}`);
    switch (name.toLowerCase()) {
      case 'host':
        hosts++;
        break;
      case 'content-length':
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== value)) return refuse(400, `bad Content-Length: ${quoted(value)}`);
        length = value;
        break;
      case 'transfer-encoding':
        coding = coding === undefined ? value : `${coding}, ${value}`;
        break;
      default:
        break;
    }
  }
  if (hosts !== 1) return refuse(400, `an HTTP/1.1 request needs exactly one Host header (RFC 9112 3.2), not ${hosts}`);
  if (coding !== undefined) {
    if (length !== undefined) return refuse(400, 'both Content-Length and Transfer-Encoding (RFC 9112 6.3)');
    if (coding.toLowerCase() !== 'chunked') return refuse(501, `transfer coding ${quoted(coding)} is not implemented here (chunked only)`);
  }
  return undefined;
}

/** An error answer with a JSON body (none for HEAD), then close. */
function answer(client: Socket, r: Refusal, head: boolean): void {
  const body = JSON.stringify({ error: r.message });
  // Read and drop what the client still sends, so that closing with unread bytes does not reset the connection before it got the answer.
  client.on('data', () => undefined);
  client.resume();
  client.end(`HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? '' : body}`);
  client.once('end', () => client.destroy());
  setTimeout(() => client.destroy(), LINGER_MS).unref();
}

/**
 * A gate on host:port in front of the uWS listener at the Unix socket `upstream`.
 * Resolves once listening, or rejects naming `what` could not listen where.
 */
export async function listenGate(host: string, port: number, upstream: string, what: string): Promise<Gate> {
  const gate = new Gate(upstream);
  await new Promise<void>((resolve, reject) => {
    // The errno code (EADDRINUSE, EACCES...) travels on, so the caller can name the flag to change.
    const failed = (e: NodeJS.ErrnoException) => reject(Object.assign(new Error(`${what}: cannot listen on ${host}:${port}: ${e.message}`), { code: e.code }));
    gate.server.once('error', failed);
    gate.server.listen({ host, port }, () => {
      gate.server.off('error', failed);
      resolve();
    });
  });
  // Later errors (EMFILE on accept) must not crash the process; the next accept tries again.
  gate.server.on('error', () => undefined);
  return gate;
}

export class Gate {
  readonly server: Server;
  /** Every socket the gate holds (clients and their uWS sides), destroyed on close(). */
  private readonly sockets = new Set<Socket>();

  constructor(private readonly upstream: string) {
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => this.accept(client));
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  close(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.on('error', () => client.destroy());
    let buf: Buffer | undefined;
    let lineChecked = false;
    let head = false;
    const timer = setTimeout(() => refused(refuse(408, `request head not received within ${HEAD_TIMEOUT_MS / 1000} s`)), HEAD_TIMEOUT_MS);
    const refused = (r: Refusal) => {
      clearTimeout(timer);
      client.off('data', onData);
      client.off('end', onEnd);
      answer(client, r, head);
    };
    const onEnd = () => {
      // A client that connected and left without a byte is only closed; one that ended before its head was whole is told.
      if (buf === undefined) {
        clearTimeout(timer);
        client.destroy();
      } else refused(refuse(400, 'the connection ended before the request head was complete'));
    };
    const onData = (chunk: Buffer) => {
      buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
      if (!lineChecked) {
        const lf = buf.indexOf(0x0a);
        if (lf < 0) {
          // Not even a method yet: garbage (a TLS hello, binary) is refused at once.
          const sp = buf.indexOf(0x20);
          const method = buf.toString('latin1', 0, Math.min(sp < 0 ? buf.length : sp, 33));
          if (method.length > 32 || (method !== '' && !TOKEN.test(method))) return refused(refuse(400, `not an HTTP request line: ${quoted(buf.toString('latin1', 0, 60))}`));
          if (buf.length > MAX_REQUEST_LINE) return refused(refuse(414, `request line over ${MAX_REQUEST_LINE} bytes`));
          return;
        }
        if (lf > MAX_REQUEST_LINE) return refused(refuse(414, `request line over ${MAX_REQUEST_LINE} bytes`));
        if (lf === 0 || buf[lf - 1] !== 0x0d) return refused(refuse(400, 'lines must end in CRLF (RFC 9112 2.2)'));
        const line = buf.toString('latin1', 0, lf - 1);
        head = line.startsWith('HEAD ');
        const r = checkRequestLine(line);
        if (r) return refused(r);
        lineChecked = true;
      }
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_HEAD) return refused(refuse(431, `request head over ${MAX_HEAD} bytes`));
        // A bare LF would keep the blank line from ever coming.
        if (bareLf(buf)) return refused(refuse(400, 'lines must end in CRLF (RFC 9112 2.2)'));
        return;
      }
      if (end + 4 > MAX_HEAD) return refused(refuse(431, `request head over ${MAX_HEAD} bytes`));
      const firstLf = buf.indexOf(0x0a);
      const r = checkFields(end > firstLf ? buf.toString('latin1', firstLf + 1, end) : '');
      if (r) return refused(r);
      clearTimeout(timer);
      client.off('data', onData);
      client.off('end', onEnd);
      const first = buf;
      buf = undefined;
      this.splice(client, first);
    };
    client.on('data', onData);
    client.on('end', onEnd);
  }

  /** Hand the connection to uWS: `first` (the head and whatever followed it) then both ways until either side closes. */
  private splice(client: Socket, first: Buffer): void {
    client.pause();
    const up = connect({ path: this.upstream, allowHalfOpen: true });
    this.track(up);
    let connected = false;
    // The client left (FIN, reset or error): uWS closes a connection on a FIN anyway, as
    // it does without the gate (a client that half-closes before its answer came does
    // not get it), so its side is closed at once.
    const clientGone = () => up.destroy();
    // uWS ended or closed the connection: the client's side is closed once what uWS sent
    // is written (bounded: a client that does not read is cut after DRAIN_MS).
    const upGone = () => {
      if (client.destroyed) return;
      if (client.writableLength === 0) return void client.destroy();
      client.end();
      setTimeout(() => client.destroy(), DRAIN_MS).unref();
    };
    client.on('close', clientGone);
    client.on('error', clientGone);
    up.on('error', () => {
      // uWS gone (closing) or no descriptor left: say so if nothing was sent yet.
      if (!connected && !client.destroyed) answer(client, refuse(503, 'the listener cannot take the connection now'), false);
      else client.destroy();
    });
    up.on('connect', () => {
      connected = true;
      if (client.destroyed) return void up.destroy();
      up.write(first);
      client.on('data', (d: Buffer) => {
        if (!up.write(d)) client.pause();
      });
      up.on('drain', () => client.resume());
      up.on('data', (d: Buffer) => {
        if (!client.write(d)) up.pause();
      });
      client.on('drain', () => up.resume());
      client.on('end', clientGone);
      up.on('end', upGone);
      up.on('close', upGone);
      client.resume();
    });
  }
}

/** A LF not preceded by CR. */
function bareLf(buf: Buffer): boolean {
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) if (i === 0 || buf[i - 1] !== 0x0d) return true;
  return false;
}
