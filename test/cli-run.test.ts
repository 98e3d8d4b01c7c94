// The CLI as a user runs it: a bootstrap run exits by itself with a summary (0 when every
// CPE bootstrapped, 1 when some failed); with --metrics-bind-addr it stays up until SIGTERM.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { runCli as run, spawnCli } from './helpers/cli.js';
import { until } from './helpers/harness.js';

describe('cpe-sim bootstrap runs', () => {
  let acs: MockAcs;
  beforeAll(async () => {
    acs = new MockAcs({ record: false });
    await acs.listen();
  });
  afterAll(async () => {
    await acs.close();
  });

  it('bootstraps the fleet, prints a summary and exits 0', async () => {
    const r = await run(['--acs-url', acs.url, '--cpes', '12', '--shards', '2', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'warn']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { summary: Record<string, number> };
    expect(summary.summary).toMatchObject({ ready: 12, failed: 0, bootstraps: 12 });
    expect(acs.informCount).toBeGreaterThanOrEqual(12);
  });

  it('exits 1 with the failure reasons when CPEs cannot bootstrap', async () => {
    const r = await run(['--acs-url', 'http://127.0.0.1:9/', '--cpes', '3', '--shards', '1', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'error']);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { summary: { failed: number; failReasons: Record<string, number> } };
    expect(summary.summary.failed).toBe(3);
    expect(summary.summary.failReasons['connect']).toBe(3);
    expect(summary.summary).toMatchObject({ verdict: '3 of 3 CPEs did not bootstrap (reason connect: 3)' });
  });

  it('a --duration run in which every session failed exits 1, its summary saying why', async () => {
    const { createServer } = await import('node:net');
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await run(['--acs-url', `http://127.0.0.1:${port}/`, '--cpes', '4', '--shards', '1', '--boot-ramp', '0', '--duration', '2', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'error']);
    expect(r.code).toBe(1);
    const { summary } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { summary: { sessionsOk: number; sessionsFailed: number; failReasons: Record<string, number>; verdict: string } };
    expect(summary.sessionsOk).toBe(0);
    expect(summary.sessionsFailed).toBeGreaterThanOrEqual(4);
    expect(summary.failReasons).toEqual({ connect: summary.sessionsFailed });
    expect(summary.verdict).toBe(`every CWMP session failed (reason connect: ${summary.sessionsFailed})`);
    // The error log says it too.
    expect(r.stderr).toContain(`fleet stopped: every CWMP session failed (reason connect: ${summary.sessionsFailed})`);
  });

  it('a --duration run with sessions that succeeded exits 0 with its summary, no verdict', async () => {
    const r = await run(['--acs-url', acs.url, '--cpes', '2', '--shards', '1', '--boot-ramp', '0', '--duration', '2', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'error']);
    expect(r.code).toBe(0);
    const { summary } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { summary: Record<string, unknown> };
    expect(summary).toMatchObject({ ready: 2, sessionsFailed: 0 });
    expect(summary['sessionsOk']).toBeGreaterThanOrEqual(2);
    expect(summary).not.toHaveProperty('verdict');
  });

  it('with --metrics-bind-addr runs as a daemon, serves /metrics, and exits 0 on SIGTERM', async () => {
    const port = 19000 + Math.floor(Math.random() * 500);
    const p = spawnCli(['--acs-url', acs.url, '--cpes', '4', '--shards', '1', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--metrics-bind-addr', `127.0.0.1:${port}`, '--log-level', 'info'], 60_000);
    const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
    let log = '';
    p.stderr.on('data', (c: Buffer) => (log += c.toString()));
    /** The 'progress' log lines (every 5 s) that report all 4 CPEs ready. */
    const readyProgress = () =>
      log.split('\n').filter((l) => {
        try {
          const r = JSON.parse(l) as { msg?: string; ready?: number };
          return r.msg === 'progress' && r.ready === 4;
        } catch {
          return false;
        }
      }).length;
    const get = () =>
      new Promise<string>((resolve) => {
        request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(b));
        })
          .on('error', () => resolve(''))
          .end();
      });
    let text = '';
    for (let i = 0; i < 100 && !text.includes('cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"} 4'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await get();
    }
    expect(text).toContain('cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"} 4');
    // Still running well after the bootstrap finished. A bootstrap run checks every second and
    // stops at the first check that sees every CPE ready, and its progress log stops with it:
    // a second progress line that reports them all ready comes only from a run that did not stop.
    await until(() => readyProgress() >= 2 || p.exitCode !== null, 15_000, 'two progress lines with every CPE ready').catch(() => undefined);
    expect(readyProgress()).toBeGreaterThanOrEqual(2);
    expect(p.exitCode).toBeNull();
    // The moment the whole fleet was first ready is logged once, however long it runs on.
    const allReady = log.split('\n').filter((l) => /"msg":"all 4 ready in \d+(\.\d)? s"/.test(l));
    expect(allReady).toHaveLength(1);
    expect(JSON.parse(allReady[0]!)).toMatchObject({ level: 30, cpes: 4 });
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('a listening port already taken names the flag to change', () => {
  it('--usp-ws-listen (TCP) and --udp-cr-bind-addr (UDP): the start fails with the key and the flag, exit 1', async () => {
    const { createServer } = await import('node:net');
    const { createSocket } = await import('node:dgram');
    const tcp = createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    try {
      const common = ['--cpes', '1', '--shards', '1', '--cr-bind-addr', '127.0.0.1:0', '--log-format', 'text'];
      const ws = await run(['--usp-mtp', 'websocket', '--usp-ws-listen', `127.0.0.1:${(tcp.address() as { port: number }).port}`, ...common]);
      expect(ws.code).toBe(1);
      expect(ws.stderr).toMatch(/config: uspWsListen \(--usp-ws-listen\): shard 0 cannot listen: .*EADDRINUSE/);
      const u = await run(['--mock-acs', '127.0.0.1:0', '--udp-cr-bind-addr', `127.0.0.1:${udp.address().port}`, ...common]);
      expect(u.code).toBe(1);
      expect(u.stderr).toMatch(/config: udpCrBindAddr \(--udp-cr-bind-addr\): shard 0 cannot listen: .*EADDRINUSE/);
    } finally {
      tcp.close();
      udp.close();
    }
  });
});

describe('every listener cpe-sim opens: a taken port fails the start naming the key and the flag', () => {
  it.each([
    ['mockAcs', '--mock-acs', [] as string[]],
    ['crBindAddr', '--cr-bind-addr', ['--mock-acs', '127.0.0.1:0']],
    ['metricsBindAddr', '--metrics-bind-addr', ['--mock-acs', '127.0.0.1:0']],
    ['uspEmbeddedBind', '--usp-embedded-bind', ['--usp-broker', 'embedded']],
  ])('%s (%s) held by another process: exit 1, "is in use (EADDRINUSE)"', async (key, flag, rest) => {
    const { createServer } = await import('node:net');
    const held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const port = (held.address() as { port: number }).port;
    try {
      const defaults = key === 'crBindAddr' ? [] : ['--cr-bind-addr', '127.0.0.1:0'];
      // --log-level silent: the refusal does not depend on the log.
      const r = await run(['--cpes', '1', '--shards', '1', ...defaults, ...rest, flag, `127.0.0.1:${port}`, '--log-level', 'silent']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`config: ${key} (${flag}): 127.0.0.1:${port} is in use (EADDRINUSE)`);
    } finally {
      held.close();
    }
  });
});
