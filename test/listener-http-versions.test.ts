// HTTP versions, malformed heads and HEAD on both main-thread listeners (uWS behind the
// protocol gate, src/http/gate.ts), over raw sockets: HTTP/1.0 and every version other
// than 1.1 get 505 with a JSON body naming HTTP/1.1 (RFC 9110 15.6.6; TR-069 3.2.2
// connection requests are HTTP/1.1), what uWS would hold silently gets a JSON 400, 414,
// 431 or 501, HTTP/1.1 is served by uWS for the whole connection, and HEAD is GET
// without a body (RFC 9110 9.3.2). A CR by HEAD is checked like a GET but starts no session.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { digestAuthorization, parseChallenges } from '../src/http/digest.js';
import { createLogger } from '../src/log.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { bootstrapped, exampleProfile, startHarness, type Harness } from './helpers/harness.js';
import { parseResponse, rawExchange } from './helpers/raw-http.js';
import { settle } from './helpers/settle.js';

let fleet: Fleet;
let acs: MockAcs;
let port: number;

beforeAll(async () => {
  acs = new MockAcs();
  await acs.listen();
  const cfg = loadConfig({ flags: { profile: exampleProfile, acsUrl: acs.url, cpes: '2', shards: '1', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', logLevel: 'silent' }, env: {} });
  fleet = await startFleet(cfg, createLogger('silent', 'json'));
  port = fleet.admin!.port;
});

afterAll(async () => {
  await fleet?.stop();
  await acs?.close();
});

/** One request, read until the server closes: the parsed response. */
async function exchange(p: number, bytes: string) {
  const r = await rawExchange(p, bytes);
  expect(r.closed).toBe(true);
  return parseResponse(r.raw);
}

describe('the metrics/admin listener', () => {
  it.each([
    ['HTTP/1.0 (no Host header)', 'GET /metrics HTTP/1.0\r\n\r\n', 'HTTP/1.0'],
    ['HTTP/1.0 with a Host header', 'GET /admin/cpes HTTP/1.0\r\nHost: x\r\n\r\n', 'HTTP/1.0'],
    ['HTTP/2.0 in a text request line', 'GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n', 'HTTP/2.0'],
    ['HTTP/0.9 (no version)', 'GET /metrics\r\n\r\n', 'HTTP/0.9'],
    ['HTTP/1.2', 'GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n', 'HTTP/1.2'],
    ['HTTP/3.0', 'GET /metrics HTTP/3.0\r\nHost: x\r\n\r\n', 'HTTP/3.0'],
    ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HTTP/2.0'],
  ])('answers %s with 505 and a JSON body naming HTTP/1.1, then closes', async (_what, bytes, version) => {
    const r = await exchange(port, bytes);
    expect(r.status).toBe(505);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toHaveLength(Number(r.headers['content-length']));
    expect(JSON.parse(r.body)).toEqual({ error: `${version} is not served here: this listener speaks HTTP/1.1 only` });
  });

  it('answers a HEAD in another version with the 505 head and no body', async () => {
    const r = await exchange(port, 'HEAD /metrics HTTP/1.0\r\n\r\n');
    expect(r.status).toBe(505);
    expect(Number(r.headers['content-length'])).toBeGreaterThan(0);
    expect(r.body).toBe('');
  });

  it.each([
    ['garbage', 'hello there\r\n\r\n', 400, /not an HTTP request line/],
    ['a TLS ClientHello', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400, /not an HTTP request line/],
    ['bare LF line ends', 'GET /metrics HTTP/1.1\nHost: x\n\n', 400, /CRLF/],
    ['a bare LF among the fields', 'GET /metrics HTTP/1.1\r\nHost: x\nX: y\r\n\r\n', 400, /control characters in header field Host/],
    ['no Host header', 'GET /metrics HTTP/1.1\r\n\r\n', 400, /Host header/],
    ['two Host headers', 'GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, /exactly one Host header/],
    ['a folded header line', 'GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n', 400, /malformed header field/],
    ['a space before the colon', 'GET /metrics HTTP/1.1\r\nHost: x\r\nX : a\r\n\r\n', 400, /malformed header field/],
    ['an absolute-form target', 'GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n', 400, /must be a path/],
    ['Content-Length with Transfer-Encoding', 'POST /admin/events HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, /both Content-Length and Transfer-Encoding/],
    ['two different Content-Lengths', 'POST /admin/events HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400, /bad Content-Length/],
    ['an unknown method', 'FOO /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 501, /method "FOO" is not implemented/],
    ['a lower-case method', 'get /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 501, /method "get" is not implemented/],
    ['an unknown transfer coding', 'POST /admin/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501, /transfer coding "gzip"/],
    ['49 header fields', `GET /metrics HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 48 }, (_, k) => `X-${k}: v`).join('\r\n')}\r\n\r\n`, 431, /more than 40 header fields/],
    ['a 9 KiB request line', `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, /request line over 8192 bytes/],
    ['a 17 KiB head', `GET /metrics HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(17_000)}\r\n\r\n`, 431, /request head over 16384 bytes/],
  ])('answers %s (which uWS would hold silently or drop) with a JSON error, then closes', async (_what, bytes, status, message) => {
    const r = await exchange(port, bytes);
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['connection']).toBe('close');
    expect(JSON.parse(r.body).error).toMatch(message);
  });

  it('a client that ends before its head is complete is told 400; one that leaves without a byte is only closed', async () => {
    const partial = await rawExchange(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n', { end: true });
    expect(partial.closed).toBe(true);
    expect(parseResponse(partial.raw).status).toBe(400);
    const nothing = await rawExchange(port, '', { end: true });
    expect(nothing).toEqual({ raw: '', closed: true });
  });

  it('hands HTTP/1.1 on to uWS for the whole connection: keep-alive requests and a POST body sent in pieces are answered', async () => {
    // Three requests on one connection, each sent once the previous answer came whole (uWS
    // drops a connection whose next request arrives before its answer went out).
    const s = connect(port, '127.0.0.1');
    let raw = '';
    /** Whole responses in `raw` (each framed by its Content-Length). */
    const whole = () => {
      let n = 0;
      for (let at = 0; ; n++) {
        const end = raw.indexOf('\r\n\r\n', at);
        if (end < 0) return n;
        const next = end + 4 + Number(/\r\ncontent-length: *(\d+)/i.exec(raw.slice(at, end))?.[1] ?? 0);
        if (next > raw.length) return n;
        at = next;
      }
    };
    const answers = (n: number) => new Promise<void>((resolve, reject) => {
      const check = () => {
        if (whole() < n) return;
        s.off('data', check);
        resolve();
      };
      s.on('data', check);
      s.once('error', reject);
    });
    s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    await new Promise((r) => s.once('connect', r));
    s.write('GET /admin/cpes/7 HTTP/1.1\r\nHost: x\r\n\r\n');
    await answers(1);
    s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await answers(2);
    // A body arriving after the head, in two writes, reaches the admin API whole.
    const body = JSON.stringify({ reboot: { target: { from: 0, to: 99 } } });
    s.write(`POST /admin/events HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
    s.write(body.slice(10));
    await new Promise((r) => s.once('close', r));
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([404, 200, 400]);
    expect(raw).toContain('cpe_sim_');
    const last = parseResponse(raw.slice(raw.lastIndexOf('HTTP/1.1 400 ')));
    expect(JSON.parse(last.body).error).toMatch(/^reboot\./);
  });

  it('answers HEAD over HTTP/1.1 with the head of GET and no body', async () => {
    // A 404's body does not move between the two requests (a CPE list's timestamps could).
    const get = await exchange(port, 'GET /admin/cpes/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const head = await exchange(port, 'HEAD /admin/cpes/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head.status).toBe(404);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers['content-type']).toBe('application/json');
  });

  it('still answers an HTTP/1.1 request afterwards', async () => {
    const r = await exchange(port, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
  });
});

describe('the connection-request listener', () => {
  let h: Harness;
  let crPort: number;
  let path: string;
  let user: string;
  let pass: string;
  beforeAll(async () => {
    h = await startHarness({ cr: true });
    await bootstrapped(h);
    crPort = h.cr!.port;
    path = new URL(h.shard.env.crUrl(0)).pathname;
    user = h.shard.view(0).get('Device.ManagementServer.ConnectionRequestUsername')!;
    pass = h.shard.view(0).get('Device.ManagementServer.ConnectionRequestPassword')!;
  });
  afterAll(async () => h?.stop());

  /** A fresh challenge, and the Authorization answering it for `method`. */
  const authorize = async (method: string) => {
    const challenge = await exchange(crPort, `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(challenge.status).toBe(401);
    expect(challenge.body).toBe('');
    const state = { challenge: parseChallenges(challenge.headers['www-authenticate'])[0]!, nc: 0 };
    return digestAuthorization(state, { username: user, password: pass }, method, path, '');
  };

  it('refuses a connection request over HTTP/1.0 with 505 (TR-069 3.2.2 asks HTTP/1.1) and starts no session; over HTTP/1.1 the same credentials get 200 and a 6 CONNECTION REQUEST session', async () => {
    await settle(h);
    const before = h.acs.sessions.length;
    const auth = await authorize('GET');
    const old = await exchange(crPort, `GET ${path} HTTP/1.0\r\nAuthorization: ${auth}\r\n\r\n`);
    expect(old.status).toBe(505);
    expect(JSON.parse(old.body)).toEqual({ error: 'HTTP/1.0 is not served here: this listener speaks HTTP/1.1 only' });
    // The nonce was not spent on the refused request: the CPE never saw it.
    const ok = await exchange(crPort, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    await h.acs.waitFor(() => h.acs.sessions.length > before && h.acs.sessions.at(-1)!.ended, 10_000, 'the CR session');
    expect(h.acs.sessions.length).toBe(before + 1);
    expect(h.acs.sessions.at(-1)!.inform.events.map((e) => e.code)).toEqual(['6 CONNECTION REQUEST']);
  });

  it('answers HEAD as GET without a body: 401 with the same challenge, 200 with good credentials, but no session; the Authorization is good once', async () => {
    const get = await exchange(crPort, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const head = await exchange(crPort, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(head.status).toBe(401);
    expect(head.body).toBe('');
    expect(Object.keys(head.headers).sort()).toEqual(Object.keys(get.headers).sort());
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers['www-authenticate']).toMatch(/^Digest realm="cpe-sim", qop="auth", nonce="[^"]+", algorithm=MD5$/);

    await settle(h);
    const before = h.acs.sessions.length;
    const auth = await authorize('HEAD');
    const ok = await exchange(crPort, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    const replay = await exchange(crPort, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    expect(replay.status).toBe(401);
    // A HEAD is safe (RFC 9110 9.2.1): the CPE opened no session for it.
    await settle(h);
    expect(h.acs.sessions.length).toBe(before);
  });

  it('405s other methods, naming GET and HEAD', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await exchange(crPort, `${m} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      expect(r.status).toBe(405);
      expect(r.headers['allow']).toBe('GET, HEAD');
    }
  });

  it('answers other HTTP versions with 505 and a JSON body', async () => {
    for (const v of ['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2']) {
      const r = await exchange(crPort, `GET ${path} ${v}\r\nHost: x\r\n\r\n`);
      expect(r.status).toBe(505);
      expect(r.headers['content-type']).toBe('application/json');
      expect(JSON.parse(r.body).error).toBe(`${v} is not served here: this listener speaks HTTP/1.1 only`);
    }
  });
});
