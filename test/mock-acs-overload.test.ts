// The mock ACS under load, seen from both ends of real sockets: its session cap (503 with
// Retry-After past it, as GenieACS sheds load), its added latency, its own counts (counts()
// and GET /stats), resets when a CPE cuts a session, the CLI options that set it up, and
// the standalone `npm run mock-acs` with the same settings.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Client } from 'undici';
import { checkScenarioOptions, loadConfig } from '../src/config/load.js';
import { buildCpeEnvelope } from '../src/cwmp/soap-build.js';
import type { Inform } from '../src/cwmp/types.js';
import { MockAcs, type MockAcsCounts } from '../src/mock-acs/mock-acs.js';
import { cliEnv, spawnCli } from './helpers/cli.js';
import { repoRoot, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
let acs: MockAcs | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const c of clients.splice(0)) await c.destroy();
  await acs?.close();
  acs = undefined;
});

const inform = (serial: string, code = '1 BOOT'): string =>
  buildCpeEnvelope(
    {
      method: 'Inform',
      deviceId: { manufacturer: 'Test', oui: '00AA11', productClass: 'Box', serialNumber: serial },
      events: [{ code, commandKey: '' }],
      maxEnvelopes: 1,
      currentTime: '2024-05-01T12:00:00Z',
      retryCount: 0,
      params: [],
    } satisfies Inform,
    { id: `i-${serial}` },
  );

/** One CPE's HTTP connection (undici Client: one socket), as a CWMP session uses it. */
function cpeClient(url: string): Client {
  const c = new Client(url, { pipelining: 1 });
  clients.push(c);
  return c;
}

async function post(c: Client, body: string, cookie?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const r = await c.request({ path: '/', method: 'POST', body, headers: { 'content-type': 'text/xml; charset="utf-8"', ...(cookie ? { cookie } : {}) } });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

const cookieOf = (headers: Record<string, string | string[] | undefined>): string => String(headers['set-cookie']).split(';')[0]!;

async function stats(url: string): Promise<MockAcsCounts> {
  const r = await fetch(new URL('stats', url));
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('application/json');
  return (await r.json()) as MockAcsCounts;
}

describe('overload mode: a cap on open sessions', () => {
  it('answers an Inform past the cap 503 with Retry-After and closes the connection; an ended session frees a place', async () => {
    acs = new MockAcs({ record: false, maxSessions: 2, retryAfterSeconds: 17 });
    const url = await acs.listen();
    const a = cpeClient(url);
    const b = cpeClient(url);
    const c = cpeClient(url);
    const ra = await post(a, inform('A'));
    const rb = await post(b, inform('B', '2 PERIODIC'));
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(ra.body).toContain('InformResponse');
    // Two sessions open: the third Inform is shed, on the wire.
    const rc = await post(c, inform('C'));
    expect(rc.status).toBe(503);
    expect(rc.headers['retry-after']).toBe('17');
    expect(rc.headers['connection']).toBe('close');
    expect(await stats(url)).toMatchObject({ informs: 3, sessionsStarted: 2, sessionsOpen: 2, refused503: 1, refusedOther: 0, refusedByStatus: { '503': 1 }, sessionsCompleted: 0, resets: 0 });
    // A ends its session (empty POST -> 204): a place is free again.
    const end = await post(a, '', cookieOf(ra.headers));
    expect(end.status).toBe(204);
    const c2 = cpeClient(url);
    expect((await post(c2, inform('C'))).status).toBe(200);
    const s = await stats(url);
    expect(s).toMatchObject({ informs: 4, sessionsStarted: 3, sessionsCompleted: 1, sessionsOpen: 2, sessionsOpenPeak: 2, refused503: 1 });
    expect(s.informsByEvent).toEqual({ '1 BOOT': 3, '2 PERIODIC': 1 });
    expect(acs.counts()).toEqual(s);
  });

  it('sends no Retry-After when retryAfterSeconds is 0', async () => {
    acs = new MockAcs({ record: false, maxSessions: 1, retryAfterSeconds: 0 });
    const url = await acs.listen();
    expect((await post(cpeClient(url), inform('A'))).status).toBe(200);
    const r = await post(cpeClient(url), inform('B'));
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBeUndefined();
  });

  it('a fleet larger than the cap: exactly the extra sessions fail with 503, as the CPEs and the ACS both count them', async () => {
    const cap = 3;
    const cpes = 8;
    // Each answer waits 1 s, so the admitted sessions stay open while every CPE's Inform
    // arrives; the refused ones are the fleet beyond the cap.
    h = await startHarness({ cpes, maxSessions: 16, acs: { record: false, maxSessions: cap, retryAfterSeconds: 120, latency: { ms: 1000, jitterMs: 0 } } });
    h.tick();
    await settle(h, 20_000);
    const sample = h.shard.sample();
    const counts = h.acs.counts();
    expect(counts).toMatchObject({ informs: cpes, sessionsStarted: cap, sessionsCompleted: cap, sessionsOpen: 0, sessionsOpenPeak: cap, refused503: cpes - cap, resets: 0 });
    expect(counts.informsByEvent['0 BOOTSTRAP']).toBe(cpes);
    expect(sample.sessionsOk).toBe(cap);
    expect(sample.sessionsFailed).toBe(cpes - cap);
    expect(sample.failReasons['http-status']).toBe(cpes - cap);
    expect(h.shard.admin.stats().states).toMatchObject({ ready: cap, failed: cpes - cap });
  });
});

describe('added latency', () => {
  it('shows in the CPE-side ACS response time of every exchange', async () => {
    // 600 ms plus jitter: the random source at 0.75 draws +0.5 x 800 = +400 ms.
    h = await startHarness({ cpes: 2, acs: { record: false, latency: { ms: 600, jitterMs: 800 }, random: () => 0.75 } });
    h.tick();
    await settle(h, 20_000);
    const sample = h.shard.sample();
    expect(sample.sessionsOk).toBe(2);
    const inf = sample.acsResponseMs['Inform']!;
    const empty = sample.acsResponseMs['Empty']!;
    expect(inf.count).toBe(2);
    expect(empty.count).toBe(2);
    // Lower bounds only: each answer was held back at least the drawn 1000 ms.
    expect(inf.min).toBeGreaterThanOrEqual(995);
    expect(empty.min).toBeGreaterThanOrEqual(995);
  });
});

/** Send one raw HTTP request on `sock` and resolve with its status line and headers once the head is in. */
function rawRequest(sock: Socket, body: string, extraHeaders = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        sock.off('data', onData);
        resolve(got.slice(0, got.indexOf('\r\n\r\n')));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`);
  });
}

describe('resets: a CPE that cuts its session', () => {
  it('counts a connection closed mid-session (raw socket) once, and frees its place', async () => {
    acs = new MockAcs({ record: false, maxSessions: 1 });
    const url = await acs.listen();
    const { port } = new URL(url);
    const sock = connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const head = await rawRequest(sock, inform('R'));
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head.toLowerCase()).toContain('set-cookie: session=');
    expect(acs.counts().sessionsOpen).toBe(1);
    sock.destroy();
    await acs.waitFor(() => acs!.counts().resets === 1, 5000, 'the reset');
    expect(acs.counts()).toMatchObject({ sessionsStarted: 1, sessionsCompleted: 0, sessionsOpen: 0, resets: 1 });
    // Its place is free: the next Inform opens a session.
    expect((await post(cpeClient(url), inform('S'))).status).toBe(200);
    expect(acs.counts().resets).toBe(1);
  });

  it('counts a request aborted while its answer is held back', async () => {
    acs = new MockAcs({ record: false, latency: { ms: 30_000, jitterMs: 0 } });
    const url = await acs.listen();
    const ctl = new AbortController();
    const c = cpeClient(url);
    const pending = c.request({ path: '/', method: 'POST', body: inform('X'), signal: ctl.signal }).catch((e: Error) => e);
    await acs.waitFor(() => acs!.counts().sessionsOpen === 1, 5000, 'the session to open');
    ctl.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
    await acs.waitFor(() => acs!.counts().resets === 1, 5000, 'the reset');
    expect(acs.counts()).toMatchObject({ sessionsStarted: 1, sessionsOpen: 0, resets: 1 });
  });

  it('does not count a connection closed after the ACS ended the session', async () => {
    acs = new MockAcs({ record: false });
    const url = await acs.listen();
    const c = cpeClient(url);
    const r = await post(c, inform('E'));
    expect((await post(c, '', cookieOf(r.headers))).status).toBe(204);
    await c.close();
    // A second session on a fresh connection, cut: exactly one reset, so the first closed quietly.
    const sock = connect(Number(new URL(url).port), '127.0.0.1');
    await rawRequest(sock, inform('F'));
    sock.destroy();
    await acs.waitFor(() => acs!.counts().sessionsOpen === 0, 5000, 'the cut session to close');
    expect(acs.counts()).toMatchObject({ sessionsStarted: 2, sessionsCompleted: 1, resets: 1 });
  });

  it('drops a session after its TTL and counts it expired', async () => {
    acs = new MockAcs({ record: false, maxSessions: 1, sessionTtlMs: 50 });
    const url = await acs.listen();
    expect((await post(cpeClient(url), inform('T'))).status).toBe(200);
    await until(() => acs!.counts().expired === 1, 5000, 'the TTL');
    expect((await post(cpeClient(url), inform('U'))).status).toBe(200);
    expect(acs.counts()).toMatchObject({ sessionsStarted: 2, expired: 1, resets: 0, refused503: 0 });
  });
});

describe('options', () => {
  const env = cliEnv();
  it('--mock-acs-max-sessions, --mock-acs-retry-after and --mock-acs-latency parse, with defaults', () => {
    const d = loadConfig({ flags: { mockAcs: '127.0.0.1:0' }, env });
    expect([d.mockAcsMaxSessions, d.mockAcsRetryAfter, d.mockAcsLatency]).toEqual([0, 60, { ms: 0, jitterMs: 0 }]);
    const cfg = loadConfig({ flags: { mockAcs: '127.0.0.1:0', mockAcsMaxSessions: '50', mockAcsRetryAfter: '0', mockAcsLatency: '200±50' }, env });
    expect([cfg.mockAcsMaxSessions, cfg.mockAcsRetryAfter, cfg.mockAcsLatency]).toEqual([50, 0, { ms: 200, jitterMs: 50 }]);
    expect(loadConfig({ flags: { mockAcs: '127.0.0.1:0' }, env: { ...env, CPE_SIM_MOCK_ACS_LATENCY: '75+-5' } }).mockAcsLatency).toEqual({ ms: 75, jitterMs: 5 });
  });

  it('refuses a malformed value naming the key and the form, and the settings without --mock-acs', () => {
    expect(() => loadConfig({ flags: { mockAcs: '127.0.0.1:0', mockAcsLatency: 'slow' }, env })).toThrow(
      'config: mockAcsLatency (flag --mock-acs-latency): expected milliseconds "<ms>" or "<ms>±<jitter>" (or "<ms>+-<jitter>"), e.g. 200 or 200±50, got "slow"',
    );
    expect(() => loadConfig({ flags: { mockAcs: '127.0.0.1:0', mockAcsMaxSessions: '-1' }, env })).toThrow('config: mockAcsMaxSessions (flag --mock-acs-max-sessions): expected an integer from 0 to 10000000, got "-1"');
    expect(() => loadConfig({ flags: { acsUrl: 'http://127.0.0.1:9/', mockAcsMaxSessions: '5' }, env })).toThrow('config: mockAcsMaxSessions: applies to the embedded mock ACS only; give --mock-acs host:port too');
  });

  it('a scenario file\'s options can set them (YAML numbers too), with the same checks', () => {
    const cfg = loadConfig({ flags: {}, env, scenario: { file: 'storm.yaml', options: { mockAcs: '127.0.0.1:0', mockAcsMaxSessions: 200, mockAcsLatency: 150 } } });
    expect([cfg.mockAcsMaxSessions, cfg.mockAcsLatency]).toEqual([200, { ms: 150, jitterMs: 0 }]);
    expect(() => checkScenarioOptions({ file: 'storm.yaml', options: { mockAcsRetryAfter: 'soon' } })).toThrow('config: mockAcsRetryAfter (scenario storm.yaml options.mockAcsRetryAfter): expected an integer from 0 to 86400, got "soon"');
  });
});

describe('npm run mock-acs (the standalone mock)', () => {
  it('takes the same settings, serves GET /stats, and prints its counts as JSON on SIGTERM', async () => {
    const p = spawn(process.execPath, [`${repoRoot}dist/scripts/mock-acs.js`, '--bind', '127.0.0.1:0', '--max-sessions', '1', '--retry-after', '9', '--latency', '5', '--quiet'], { env: cliEnv(), timeout: 30_000, killSignal: 'SIGKILL' });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('close', r));
    await until(() => /listening on (http:\/\/\S+\/)/.test(out), 15_000, 'the standalone mock to listen');
    const url = /listening on (http:\/\/\S+\/)/.exec(out)![1]!;
    expect((await post(cpeClient(url), inform('P'))).status).toBe(200);
    const refused = await post(cpeClient(url), inform('Q'));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('9');
    expect(await stats(url)).toMatchObject({ informs: 2, sessionsStarted: 1, sessionsOpen: 1, refused503: 1 });
    for (const c of clients.splice(0)) await c.destroy();
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
    const last = JSON.parse(out.trim().split('\n').at(-1)!) as { mockAcsCounts: MockAcsCounts };
    expect(last.mockAcsCounts).toMatchObject({ informs: 2, sessionsStarted: 1, refused503: 1, informsByEvent: { '1 BOOT': 2 } });
  });

  it('refuses a bad --latency naming the flag and the form', async () => {
    const p = spawn(process.execPath, [`${repoRoot}dist/scripts/mock-acs.js`, '--bind', '127.0.0.1:0', '--latency', 'fast'], { env: cliEnv(), timeout: 30_000, killSignal: 'SIGKILL' });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise<number | null>((r) => p.on('close', r))).toBe(2);
    expect(err).toContain('mock-acs: --latency: expected milliseconds "<ms>" or "<ms>±<jitter>"');
  });
});

describe('cpe-sim --mock-acs with the overload settings', () => {
  it('wires the cap, Retry-After and latency into the embedded mock, serves /stats, and logs the counts on SIGTERM', async () => {
    const p = spawnCli(
      ['--mock-acs', '127.0.0.1:0', '--mock-acs-max-sessions', '2', '--mock-acs-retry-after', '3600', '--mock-acs-latency', '400±100', '--cpes', '6', '--shards', '1', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'info'],
      60_000,
    );
    let log = '';
    p.stderr.on('data', (c: Buffer) => (log += c.toString()));
    p.stdout.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((r) => p.on('close', r));
    const urlOf = () => /"msg":"embedded mock ACS listening"/.test(log) ? /"url":"(http:[^"]+)"/.exec(log)?.[1] : undefined;
    await until(() => urlOf() !== undefined, 20_000, 'the embedded mock ACS to listen');
    const url = urlOf()!;
    // Every CPE informs once at boot: with 300-500 ms per answer, the first two sessions are still
    // open when the others arrive, and a refused CPE's retry is an hour away (Retry-After).
    let s = await stats(url);
    const deadline = Date.now() + 20_000;
    while (s.informs < 6 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      s = await stats(url);
    }
    expect(s.informs).toBeGreaterThanOrEqual(6);
    expect(s.sessionsOpenPeak).toBeLessThanOrEqual(2);
    expect(s.refused503).toBeGreaterThanOrEqual(1);
    expect(s.sessionsStarted + s.refused503 + s.refusedOther).toBe(s.informs);
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
    const line = log.split('\n').find((l) => l.includes('"msg":"embedded mock ACS counts"'));
    expect(line).toBeDefined();
    const counts = (JSON.parse(line!) as { mockAcs: MockAcsCounts }).mockAcs;
    expect(counts.refused503).toBeGreaterThanOrEqual(s.refused503);
    expect(counts.informsByEvent['0 BOOTSTRAP']).toBeGreaterThanOrEqual(6);
  });
});
