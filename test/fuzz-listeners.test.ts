// Fuzzing the two main-thread listeners (uWS behind the protocol gate, src/http/gate.ts)
// over raw sockets: the metrics/admin API (random methods, paths, bodies, bad JSON, huge
// heads, slow clients) and the connection-request listener (bad Digest, replayed and
// forged nonces, wrong realm and uri, huge heads, slow clients). Every answer is an HTTP
// 4xx/5xx with a JSON body where the admin API is concerned (what the gate answers always
// has one; malformed HTTP/1.1 that passes the gate and uWS itself refuses may end with a
// clean close instead), the CR listener never says 200 without valid credentials, and
// both keep answering while slow clients trickle (the gate answers those 408). Seeded (FUZZ_SEED).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { digestAuthorization, parseChallenges } from '../src/http/digest.js';
import { createLogger } from '../src/log.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { exampleProfile } from './helpers/harness.js';
import { parseResponse, prng, rawExchange } from './helpers/raw-http.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20251106);
const TOKEN = 'fuzz-token';

let fleet: Fleet;
let acs: MockAcs;
let adminPort: number;
let crPort: number;

beforeAll(async () => {
  acs = new MockAcs();
  await acs.listen();
  const cfg = loadConfig({
    flags: { profile: exampleProfile, acsUrl: acs.url, cpes: '3', shards: '1', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', adminToken: TOKEN, crUsername: 'u-{index}', crPassword: 'pw-{index}', crRateLimit: '1000/60s', logLevel: 'silent' },
    env: {},
  });
  fleet = await startFleet(cfg, createLogger('silent', 'json'));
  adminPort = fleet.admin!.port;
  crPort = fleet.cr.port;
  await acs.waitFor(() => acs.sessions.filter((s) => s.ended).length >= 3, 15_000, 'bootstraps');
  for (const l of [0, 1, 2]) {
    const r = parseResponse((await rawExchange(adminPort, `GET /admin/cpes/${l} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)).raw);
    crPaths.push(new URL((JSON.parse(r.body) as { cr_url: string }).cr_url).pathname);
  }
});
const crPaths: string[] = [];

afterAll(async () => {
  await fleet?.stop();
  await acs?.close();
});

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const junk = (rand: () => number, n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(rand() * 95))).join('');

async function healthy(): Promise<void> {
  const r = parseResponse((await rawExchange(adminPort, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).raw);
  expect(r.status).toBe(200);
}

describe('the metrics/admin API', () => {
  it('400 random requests: every answer that is not 2xx is a 4xx/5xx with a JSON {error}; nothing ever 2xx without the token on /admin', async () => {
    const rand = prng(SEED);
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'get'];
    const paths = ['/', '/metrics', '/live?x=1', '/admin/cpes', '/admin/cpes/0', '/admin/cpes/1/cr', '/admin/cpes/2/fault/9002', '/admin/events', '/admin/cpes/-1', '/admin/cpes/99999999999', '/admin/cpes?limit=abc', '/admin/cpes?state=nope', '/admin/cpes/0/fault/1', '/%00', '/admin/../metrics', '/admin/cpes/%2e%2e', `/${'a'.repeat(4000)}`];
    const bodies = ['', '{', '{"powerCut": {"target": {"fraction": 2}}}', '{"powerCut": {"target": {"fraction": 0.1}, "duration": "1s"}}', 'null', '[]', '{"nope": 1}', '\u0000\u0001\u0002', '{"reboot": {"target": {"from": -5, "to": 1e30}}}'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const method = pick(rand, methods);
      let path = pick(rand, paths);
      if (rand() < 0.2) path = `/${junk(rand, 1 + Math.floor(rand() * 40)).replace(/[\s]/g, '_')}`;
      const body = rand() < 0.1 ? junk(rand, 2000) : pick(rand, bodies);
      const withToken = rand() < 0.5;
      const head = `${method} ${path} HTTP/1.1\r\nHost: x\r\n${withToken ? `Authorization: Bearer ${TOKEN}\r\n` : rand() < 0.5 ? `Authorization: ${junk(rand, 30)}\r\n` : ''}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
      const r = await rawExchange(adminPort, head + body, { until: (raw) => path.startsWith('/live') && raw.includes('\r\n\r\n') });
      const label = `seed ${SEED}, request ${i}: ${JSON.stringify((head + body).slice(0, 300))}`;
      if (!r.raw.includes('\r\n\r\n')) throw new Error(`${label}: no answer (closed ${r.closed})`);
      const res = parseResponse(r.raw);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status < 200 || res.status >= 600) throw new Error(`${label}: status ${res.statusLine}`);
      if (res.status >= 200 && res.status < 300) {
        if (path.startsWith('/admin') && !withToken) throw new Error(`${label}: ${res.status} without the token`);
        continue;
      }
      if (method === 'HEAD') continue; // a HEAD carries the head of the JSON error, not its body
      if (res.headers['content-type'] !== 'application/json') throw new Error(`${label}: ${res.status} with content-type ${res.headers['content-type']}`);
      const doc = JSON.parse(res.body.slice(0, Number(res.headers['content-length']))) as { error?: unknown };
      if (typeof doc.error !== 'string') throw new Error(`${label}: ${res.status} without {error}`);
    }
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
    await healthy();
  });

  it('malformed HTTP, a 100 KB head and a head sent a byte at a time get 400, 431 and 408 with JSON bodies and a close; the listener stays responsive', async () => {
    const rand = prng(SEED + 2);
    for (let i = 0; i < 30; i++) {
      const bytes = rand() < 0.5 ? `${junk(rand, 20)}\r\n\r\n` : `GET /metrics HTTP/1.1\r\nHost: x\r\n${junk(rand, 10)}\r\n\r\n`;
      const r = await rawExchange(adminPort, bytes);
      expect(r.closed).toBe(true);
      if (r.raw === '') continue; // a request that is fine after all is answered; garbage may also just be closed
      const res = parseResponse(r.raw);
      if (res.status === 200) continue;
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(JSON.parse(res.body).error).toEqual(expect.any(String));
    }
    const huge = await rawExchange(adminPort, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
    expect(huge.closed).toBe(true);
    const hugeRes = parseResponse(huge.raw);
    expect(hugeRes.status).toBe(431);
    expect(JSON.parse(hugeRes.body).error).toMatch(/16384 bytes/);
    const manyHeaders = await rawExchange(adminPort, `GET /metrics HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, k) => `X-${k}: v`).join('\r\n')}\r\n\r\n`);
    expect(parseResponse(manyHeaders.raw).status).toBe(431);

    // A slow client: the head a byte every 300 ms never completes within the 10 s head timeout.
    const slowHead = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'z'.repeat(100);
    const slow = rawExchange(adminPort, [...slowHead], { gapMs: 300, timeoutMs: 25_000 });
    // Meanwhile the listener answers others at once.
    for (let i = 0; i < 5; i++) await healthy();
    const s = await slow;
    expect(s.closed).toBe(true);
    const slowRes = parseResponse(s.raw);
    expect(slowRes.status).toBe(408);
    expect(JSON.parse(slowRes.body).error).toMatch(/not received within/);
    await healthy();
  }, 40_000);

  it('a body over 64 KiB is 413 with a JSON body', async () => {
    const body = 'x'.repeat(70_000);
    const r = await rawExchange(adminPort, `POST /admin/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    // The rest of the body is not read: the connection is closed after the answer.
    expect(r.closed).toBe(true);
    const res = parseResponse(r.raw);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.slice(0, Number(res.headers['content-length']))).error).toMatch(/over 65536 bytes/);
    await healthy();
  });
});

describe('the connection-request listener', () => {
  const crPath = (l: number) => crPaths[l]!;
  const user = (l: number) => `u-${l}`;
  const get = async (path: string, auth?: string, method = 'GET') => {
    const r = await rawExchange(crPort, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth !== undefined ? `Authorization: ${auth}\r\n` : ''}Connection: close\r\n\r\n`);
    return parseResponse(r.raw);
  };
  const challenge = async (l: number) => parseChallenges((await get(crPath(l))).headers['www-authenticate'])[0]!;

  it('300 broken Digest answers (wrong realm, uri, user, response, nc, qop, forged and foreign nonces, garbage) are all 401, the good one 200 once, its replays 401', async () => {
    const rand = prng(SEED + 3);
    const l = 1;
    const path = crPath(l);
    const base = await challenge(l);
    const otherCpeNonce = (await challenge(2)).params['nonce']!;
    let ok = 0;
    for (let i = 0; i < 300; i++) {
      const state = { challenge: { ...base, params: { ...base.params } }, nc: 0 };
      let method = 'GET';
      let uri = path;
      let creds = { username: user(l), password: `pw-${l}` };
      switch (i % 10) {
        case 0: state.challenge.params['realm'] = pick(rand, ['other', '', 'cpe-sim ', 'CPE-SIM']); break;
        // (An absolute uri is compared by its path and query, whatever its host: an ACS may reach the CPE through NAT.)
        case 1: uri = pick(rand, [crPath(2), `${path}x`, '/cr/1/', `http://evil${path}/`, `http://evil/x?${path}`, '*']); break;
        case 2: creds = { ...creds, username: pick(rand, ['', 'admin', `${user(l)} `, user(2)]) }; break;
        case 3: creds = { ...creds, password: pick(rand, ['', 'pw-2', `pw-${l} `, junk(rand, 8)]) }; break;
        case 4: state.challenge.params['nonce'] = pick(rand, [otherCpeNonce, `${base.params['nonce']!}0`, junk(rand, 40).replace(/"/g, ''), '0.0.00000000000000000000000000000000']); break;
        case 5: method = 'POST'; break;
        default: break;
      }
      let auth = digestAuthorization(state, creds, method, uri, '');
      if (i % 10 === 6) auth = auth.replace(/response="[0-9a-f]+"/, `response="${junk(rand, 32).replace(/"/g, '')}"`);
      if (i % 10 === 7) auth = auth.replace('nc=00000001', pick(rand, ['nc=00000000', 'nc=zzzzzzzz', 'nc=1', 'nc=']));
      if (i % 10 === 8) auth = pick(rand, [`Digest ${junk(rand, 200)}`, `Basic ${Buffer.from(`${user(l)}:pw-${l}`).toString('base64')}`, junk(rand, 100), 'Digest', 'Digest username=', `Digest ${'a="b", '.repeat(500)}`]);
      if (i % 10 === 9) {
        // The good one (on a fresh nonce): 200 once; the same header again is a replay.
        auth = digestAuthorization({ challenge: await challenge(l), nc: 0 }, creds, method, uri, '');
        const good = await get(path, auth);
        expect(good.status).toBe(200);
        ok++;
        const replay = await get(path, auth);
        expect(replay.status).toBe(401);
        expect(replay.headers['www-authenticate']).toMatch(/^Digest /);
        continue;
      }
      const r = await get(path, auth);
      const label = `seed ${SEED + 3}, case ${i}: ${auth.slice(0, 200)}`;
      if (r.status !== 401) throw new Error(`${label}: ${r.statusLine}`);
    }
    expect(ok).toBe(30);
  });

  it('bad paths, other methods, huge heads and slow clients: 404/405/431/408, never 200; the listener keeps answering', async () => {
    const rand = prng(SEED + 4);
    for (let i = 0; i < 50; i++) {
      const path = pick(rand, ['/', '/cr', '/cr/', '/cr/1', `/cr/1/${junk(rand, 24).replace(/[\s?#%]/g, 'a')}`, '/cr/99999999999/abc', `${crPath(0)}/x`, `${crPath(0)}?a=b`]);
      const r = await get(path, rand() < 0.5 ? undefined : `Digest username="${user(0)}"`, pick(rand, ['GET', 'HEAD', 'PUT', 'DELETE']));
      expect(r.status).not.toBe(200);
      expect([401, 404, 405]).toContain(r.status);
    }
    const huge = await rawExchange(crPort, `GET ${crPath(0)} HTTP/1.1\r\nHost: x\r\nAuthorization: Digest ${'a'.repeat(100_000)}\r\n\r\n`);
    expect(huge.closed).toBe(true);
    expect(parseResponse(huge.raw).status).toBe(431);
    const slow = rawExchange(crPort, [...`GET ${crPath(0)} HTTP/1.1\r\nHost: x\r\nAuthorization: Digest username="${user(0)}"`], { gapMs: 300, timeoutMs: 25_000 });
    // Meanwhile a real connection request gets through.
    const c = await challenge(0);
    const good = await get(crPath(0), digestAuthorization({ challenge: c, nc: 0 }, { username: user(0), password: 'pw-0' }, 'GET', crPath(0), ''));
    expect(good.status).toBe(200);
    const s = await slow;
    expect(s.closed).toBe(true);
    expect(parseResponse(s.raw).status).toBe(408);
  }, 40_000);
});
