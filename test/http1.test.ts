// The CPE's HTTP/1.1 connection (src/cwmp/http1.ts) against a raw TCP server that writes
// scripted replies byte for byte: every framing RFC 9112 allows a server (Content-Length,
// chunked with extensions and trailers, to the close, 1xx first), replies cut into pieces
// down to one byte per write, keep-alive and close, and the replies it must refuse.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Http1Conn, Http1Failure, MAX_HEAD_BYTES } from '../src/cwmp/http1.js';
import { AcsHttpSession, ConnectionPool } from '../src/cwmp/transport.js';

interface Seen {
  /** Every request as it arrived on this connection, head and body. */
  requests: string[];
  /** Resolves when the server's side of the connection has closed. */
  closed: Promise<unknown>;
}

/** What the server writes for the n-th request on a connection: pieces, written one after the other. */
type Script = (req: string, n: number) => { pieces: Array<string | Buffer>; close?: 'end' | 'reset' } | 'silent';

let server: Server;
let port = 0;
let script: Script = () => ({ pieces: ['HTTP/1.1 204 No Content\r\n\r\n'] });
const connections: Seen[] = [];

/** Whether a complete request (head + Content-Length body) is in `buf`. */
function completeRequest(buf: string): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return -1;
  const m = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end));
  const total = end + 4 + Number(m?.[1] ?? 0);
  return buf.length >= total ? total : -1;
}

beforeAll(async () => {
  server = createServer((sock: Socket) => {
    const seen: Seen = { requests: [], closed: new Promise((r) => sock.once('close', r)) };
    connections.push(seen);
    let buf = '';
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let len = completeRequest(buf); len >= 0; len = completeRequest(buf)) {
        const req = buf.slice(0, len);
        buf = buf.slice(len);
        seen.requests.push(req);
        const out = script(req, seen.requests.length);
        if (out === 'silent') continue;
        void (async () => {
          for (const p of out.pieces) {
            sock.write(p);
            // Let each piece leave as its own segment.
            await new Promise((r) => setImmediate(r));
          }
          if (out.close === 'end') sock.end();
          if (out.close === 'reset') sock.resetAndDestroy();
        })();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  server.close();
});

const conn = (): Http1Conn => new Http1Conn({ protocol: 'http:', host: '127.0.0.1', port, tls: {} }, {});
const head = (body: string): string => `POST /acs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
const ask = (c: Http1Conn, body = '<x/>', opts: Partial<{ timeoutMs: number; maxBody: number; resetOnHead: boolean }> = {}) =>
  c.exchange(head(body), body, { timeoutMs: 5000, maxBody: 1024 * 1024, resetOnHead: false, ...opts });
const failure = async (p: Promise<unknown>): Promise<Http1Failure> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof Http1Failure) return e;
    throw e;
  }
  throw new Error('the exchange did not fail');
};
/** Every byte of `s` written on its own. */
const bytes = (s: string): string[] => [...s];

describe('Http1Conn: the framings a server may use', () => {
  it('sends head and body as written and reads a Content-Length reply; the connection stays open for the next request', async () => {
    script = (_req, n) => ({ pieces: [`HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 6\r\n\r\nreply${n}`] });
    const before = connections.length;
    const c = conn();
    const a = await ask(c, 'first');
    expect([a.status, a.body.toString(), a.headers['content-type']]).toEqual([200, 'reply1', 'text/xml']);
    expect(c.reusable).toBe(true);
    const b = await ask(c, 'second');
    expect(b.body.toString()).toBe('reply2');
    expect(connections.length).toBe(before + 1);
    expect(connections[before]!.requests).toEqual([head('first') + 'first', head('second') + 'second']);
    c.close();
  });

  it('reads a reply that arrives one byte at a time', async () => {
    script = () => ({ pieces: bytes('HTTP/1.1 200 OK\r\nContent-Length: 11\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello world') });
    const c = conn();
    const r = await ask(c);
    expect([r.status, r.body.toString(), r.headers['set-cookie']]).toEqual([200, 'hello world', ['a=1', 'b=2']]);
    c.close();
  });

  it('reads a long head that arrives in pieces of one to three bytes, then a chunked body', async () => {
    const headers = Array.from({ length: 60 }, (_, i) => `X-Header-${i}: value ${i}\r\n`).join('');
    const reply = `HTTP/1.1 200 OK\r\n${headers}Transfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n`;
    const pieces: string[] = [];
    for (let i = 0, k = 0; i < reply.length; k++) {
      const n = 1 + (k % 3);
      pieces.push(reply.slice(i, i + n));
      i += n;
    }
    script = () => ({ pieces });
    const c = conn();
    const r = await ask(c);
    expect([r.status, r.body.toString(), r.headers['x-header-0'], r.headers['x-header-59'], c.reusable]).toEqual([200, 'body', 'value 0', 'value 59', true]);
    c.close();
  });

  it('decodes chunked transfer coding with extensions and trailers, also byte by byte', async () => {
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n';
    for (const pieces of [[chunked], bytes(chunked)]) {
      script = () => ({ pieces });
      const c = conn();
      const r = await ask(c);
      expect(r.body.toString()).toBe('hello 0123456789');
      expect(c.reusable).toBe(true);
      c.close();
    }
  });

  it('reads a body without a length to the end of the connection, which is then not reused', async () => {
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\n\r\n', 'part one, ', 'part two'], close: 'end' });
    const c = conn();
    const r = await ask(c);
    expect(r.body.toString()).toBe('part one, part two');
    expect(c.reusable).toBe(false);
  });

  it('takes a status line without a reason phrase and header values without surrounding spaces', async () => {
    script = () => ({ pieces: ['HTTP/1.1 200\r\nX-A:\t padded \t\r\nX-B:tight\r\nContent-Length: 0\r\n\r\n'] });
    const c = conn();
    const r = await ask(c);
    expect([r.status, r.headers['x-a'], r.headers['x-b']]).toEqual([200, 'padded', 'tight']);
    c.close();
  });

  it('skips 100 Continue and other 1xx replies, takes 204 and 304 as bodiless', async () => {
    script = () => ({ pieces: ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n', 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n'] });
    const c = conn();
    const r = await ask(c);
    expect([r.status, r.body.length]).toEqual([204, 0]);
    c.close();
  });

  it('honours Connection: close, HTTP/1.0 without keep-alive, and a Keep-Alive timeout hint', async () => {
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'] });
    const c1 = conn();
    await ask(c1);
    expect(c1.reusable).toBe(false);
    script = () => ({ pieces: ['HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'] });
    const c2 = conn();
    await ask(c2);
    expect(c2.reusable).toBe(false);
    script = () => ({ pieces: ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=7, max=100\r\nContent-Length: 2\r\n\r\nok'] });
    const c3 = conn();
    await ask(c3);
    expect([c3.reusable, c3.keepAliveHintMs]).toEqual([true, 7000]);
    c3.close();
  });
});

describe('Http1Conn: what it refuses, each with its reason', () => {
  it('a status line that is not HTTP/1.x, a header line without a colon, a bad Content-Length', async () => {
    for (const [reply, msg] of [
      ['HTTP/2 200 OK\r\n\r\n', /bad status line/],
      ['ICY 200 OK\r\n\r\n', /bad status line/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /bad header line/],
      ['HTTP/1.1 20x OK\r\n\r\n', /bad status line/],
      ['HTTP/1.1 2000 OK\r\n\r\n', /bad status line/],
      ['HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', /bad header name "Bad Name"/],
      ['HTTP/1.1 200 OK\r\n: no name\r\n\r\n', /bad header line/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n', /bad Content-Length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', /bad Content-Length/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /bad chunk size/],
      ['HTTP/1.1 101 Switching Protocols\r\n\r\n', /protocol switch/],
    ] as const) {
      script = () => ({ pieces: [reply] });
      const f = await failure(ask(conn()));
      expect([reply, f.kind]).toEqual([reply, 'io']);
      expect(f.message).toMatch(msg);
    }
  });

  it(`a head over ${MAX_HEAD_BYTES} bytes`, async () => {
    script = () => ({ pieces: [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`] });
    const f = await failure(ask(conn()));
    expect([f.kind, f.message]).toEqual(['io', `ACS reply head over ${MAX_HEAD_BYTES} bytes`]);
  });

  it('a body over the cap, declared or streamed (chunked or to the close)', async () => {
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n'] });
    expect((await failure(ask(conn(), '<x/>', { maxBody: 1000 }))).kind).toBe('too-large');
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '200\r\n' + 'a'.repeat(512) + '\r\n', '300\r\n' + 'b'.repeat(768) + '\r\n'] });
    expect((await failure(ask(conn(), '<x/>', { maxBody: 1000 }))).kind).toBe('too-large');
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\n\r\n', 'a'.repeat(600), 'b'.repeat(600)], close: 'end' });
    expect((await failure(ask(conn(), '<x/>', { maxBody: 1000 }))).kind).toBe('too-large');
  });

  it('a server that closes or resets before its reply is complete', async () => {
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'], close: 'end' });
    const f1 = await failure(ask(conn()));
    expect([f1.kind, f1.message]).toEqual(['io', 'other side closed']);
    // A reset with nothing written: the read fails with ECONNRESET (after data, Linux reports
    // the reset as the end of the stream, which is the case above).
    script = () => ({ pieces: [], close: 'reset' });
    const f2 = await failure(ask(conn()));
    expect([f2.kind, f2.code]).toEqual(['connect', 'ECONNRESET']);
  });

  it('a server that never answers: the deadline fails the exchange and closes the connection', async () => {
    script = () => 'silent';
    const c = conn();
    const f = await failure(ask(c, '<x/>', { timeoutMs: 200 }));
    expect([f.kind, f.message]).toEqual(['timeout', 'no complete ACS reply within the ACS timeout (200 ms)']);
    expect(c.reusable).toBe(false);
  });

  it('a refused connection is a connect failure', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const closedPort = (probe.address() as { port: number }).port;
    probe.close();
    await once(probe, 'close');
    const c = new Http1Conn({ protocol: 'http:', host: '127.0.0.1', port: closedPort, tls: {} }, {});
    const f = await failure(c.exchange('POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n', '', { timeoutMs: 5000, maxBody: 1000, resetOnHead: false }));
    expect([f.kind, f.code]).toEqual(['connect', 'ECONNREFUSED']);
  });

  it('a link reset after the head: the status is kept, the server sees a TCP reset', async () => {
    let resetSeen: Promise<string> | undefined;
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n', 'x'.repeat(1000)] });
    const before = connections.length;
    server.once('connection', (s: Socket) => {
      resetSeen = new Promise((resolve) => {
        s.on('error', (e: Error & { code?: string }) => resolve(e.code ?? 'error'));
        s.on('end', () => resolve('end'));
      });
    });
    const f = await failure(ask(conn(), '<x/>', { resetOnHead: true }));
    expect([f.kind, f.answeredWith]).toEqual(['reset', 200]);
    expect(connections.length).toBe(before + 1);
    expect(await resetSeen).toBe('ECONNRESET');
  });
});

describe('Http1Conn and the session over it: cuts, odd replies, reconnects', () => {
  it('sends header octets as latin1 and the body as UTF-8, so a cookie goes back byte for byte', async () => {
    script = () => ({ pieces: ['HTTP/1.1 204 No Content\r\n\r\n'] });
    const before = connections.length;
    const c = conn();
    const body = '<x>é</x>';
    await c.exchange(`POST /acs HTTP/1.1\r\nCookie: s=caf\u00e9\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`, body, { timeoutMs: 5000, maxBody: 1000, resetOnHead: false });
    const raw = Buffer.from(connections[before]!.requests[0]!, 'latin1');
    expect(raw.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a]))).toBe(true); // "caf\xE9\r\n"
    expect(raw.includes(Buffer.from('<x>\u00e9</x>', 'utf8'))).toBe(true);
    c.close();
  });

  it('a cut before the connection is up fails the exchange at once, and nothing is sent', async () => {
    script = () => ({ pieces: ['HTTP/1.1 204 No Content\r\n\r\n'] });
    const before = connections.length;
    const c = conn();
    const p = ask(c);
    c.reset();
    const f = await failure(p);
    expect([f.kind, f.message]).toEqual(['io', 'the connection was cut']);
    // The kernel may have completed the cut connection before the cut: then the server
    // accepts it ahead of the next one (the backlog is in order). Once a second connection
    // has been answered, every earlier one is accepted, and each must close without a request.
    const next = conn();
    await ask(next);
    next.close();
    const cutOnes = connections.slice(before, connections.length - 1);
    await Promise.all(cutOnes.map((x) => x.closed));
    expect(cutOnes.flatMap((x) => x.requests)).toEqual([]);
    expect(connections[connections.length - 1]!.requests).toHaveLength(1);
  });

  it('a cut in the middle of a body framed by the close is a failure, not a short body', async () => {
    let served!: () => void;
    const servedP = new Promise<void>((r) => (served = r));
    script = () => {
      setTimeout(served, 20);
      return { pieces: ['HTTP/1.1 200 OK\r\n\r\n', 'half a bo'] };
    };
    const c = conn();
    const p = ask(c);
    await servedP;
    c.close();
    expect((await failure(p)).message).toBe('the connection was cut');
  });

  it('bytes after a bodiless reply make the connection unusable; a status under 100 is refused', async () => {
    script = () => ({ pieces: ['HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n'] });
    const c = conn();
    expect((await ask(c)).status).toBe(204);
    expect(c.reusable).toBe(false);
    c.close();
    script = () => ({ pieces: ['HTTP/1.1 042 Odd\r\n\r\n'] });
    const f = await failure(ask(conn()));
    expect([f.kind, f.message]).toEqual(['io', 'malformed HTTP reply from the ACS: bad status 42']);
  });

  it('header names like __proto__ and constructor are plain headers', async () => {
    script = () => ({ pieces: ['HTTP/1.1 200 OK\r\n__proto__: x\r\nconstructor: y\r\nContent-Length: 0\r\n\r\n'] });
    const c = conn();
    const r = await ask(c);
    expect([Object.getPrototypeOf(r.headers), r.headers['__proto__'], r.headers['constructor']]).toEqual([null, 'x', 'y']);
    c.close();
  });

  it('a session goes on over a new connection when the ACS closed the last one (Connection: close)', async () => {
    script = (_req, n) => ({ pieces: [`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nreply`], close: n === 1 ? 'end' : undefined });
    const before = connections.length;
    const pool = new ConnectionPool({ maxIdlePerOrigin: 4 });
    const session = new AcsHttpSession(pool, { url: `http://127.0.0.1:${port}/acs`, username: '', password: '', timeoutMs: 5000 });
    expect((await session.post('<first/>')).body).toBe('reply');
    expect((await session.post('<second/>')).body).toBe('reply');
    session.close(true);
    await pool.close();
    expect(connections.slice(before).map((x) => x.requests.length)).toEqual([1, 1]);
  });
});
