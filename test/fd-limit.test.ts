// A fleet larger than the process's descriptor limit (README "Descriptors"): refused at
// start with the numbers; forced, what does not fit is counted and logged as
// `descriptors` while /metrics, /admin and the connection-request listener keep
// answering; the open-fds gauge stays truthful at the limit. The real CLI runs under
// `prlimit --nofile` (util-linux) with the embedded broker (aedes) and mock ACS.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { cliEnv } from './helpers/cli.js';
import { repoRoot } from './helpers/harness.js';

const main = `${repoRoot}dist/src/cli/main.js`;
const LIMIT = 600;

function underLimit(limit: number, args: string[], timeoutMs: number): ChildProcessWithoutNullStreams {
  return spawn('prlimit', [`--nofile=${limit}:${limit}`, process.execPath, main, ...args], { env: cliEnv(), cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL' });
}

/** GET with a client timeout: the status and body, or 'timeout' / the error. A generous bound, not a performance claim. */
function getOnce(port: number, path: string, timeoutMs = 5000): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', (e) => resolve(`error: ${e.message}`));
    req.end();
  });
}

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

let child: ChildProcessWithoutNullStreams | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

describe('file descriptors', () => {
  it('refuses at start a fleet that needs more descriptors than the soft limit, with the numbers and the ways out (exit 2)', async () => {
    const p = underLimit(1000, ['--usp-broker', 'embedded', '--usp-embedded-bind', '127.0.0.1:0', '--cpes', '2000', '--shards', '1', '--cr-bind-addr', '127.0.0.1:0'], 30_000);
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/the fleet needs about (\d+) file descriptors, but this process may open 1000 \(soft limit/);
    const need = Number(/needs about (\d+)/.exec(stderr)![1]);
    expect(need).toBeGreaterThan(4000);
    expect(stderr).toMatch(/^\s+2000 {2}2000 USP agents' MQTT connections$/m);
    expect(stderr).toMatch(/^\s+2000 {2}the embedded broker's side of each$/m);
    expect(stderr).toContain(`ulimit -n ${need}`);
    expect(stderr).toContain('--usp-broker mqtt://host:port');
    expect(stderr).toMatch(/split the fleet over \d+ processes of --cpes \d+ with --fleet-offset 0, \d+/);
    expect(stderr).toContain('--force-descriptors');
  });

  it('forced: agents and sessions that do not fit fail as descriptors (metrics, log at warn, summary) while /metrics, /admin and the CR listener answer', async () => {
    const p = underLimit(
      LIMIT,
      ['--usp-broker', 'embedded', '--usp-embedded-bind', '127.0.0.1:0', '--usp-mqtt-version', '3.1.1', '--mock-acs', '127.0.0.1:0', '--cpes', String(LIMIT), '--shards', '1', '--boot-ramp', '0',
        '--cr-bind-addr', '127.0.0.1:0', '--metrics-bind-addr', '127.0.0.1:0', '--force-descriptors'],
      90_000,
    );
    child = p;
    let log = '';
    p.stdout.on('data', (c: Buffer) => (log += c.toString()));
    p.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const records = () => log.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const portOf = (msg: string) => {
      const r = records().find((x) => x['msg'] === msg);
      return r ? Number(String(r['bind']).split(':').at(-1)) : undefined;
    };
    const deadline = Date.now() + 60_000;
    let metricsPort: number | undefined;
    let crPort: number | undefined;
    while ((metricsPort === undefined || crPort === undefined) && Date.now() < deadline && p.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
      metricsPort = portOf('metrics and admin listener up');
      crPort = portOf('connection-request listener up');
    }
    expect(metricsPort).toBeDefined();
    // Started anyway, saying so at warn.
    expect(records().some((r) => r['level'] === 40 && String(r['msg']).startsWith('file descriptors: the fleet needs more than the soft limit'))).toBe(true);

    // Wait (bounded) until both sides counted descriptors failures; every request meanwhile must answer.
    let text = '';
    let usp = 0;
    let cwmp = 0;
    const answers: Array<{ path: string; result: { status: number; body: string } | string }> = [];
    // At the very limit, a connection the listener's accept cannot take is closed at once by
    // node (libuv closes what it cannot keep): a client sees a reset and tries again, as a
    // Prometheus scrape does at its next interval. A request may need that second try; the
    // second try must be answered, and few may need one.
    let retried = 0;
    const get = async (port: number, path: string) => {
      const first = await getOnce(port, path);
      if (typeof first !== 'string' || !/ECONNRESET|socket hang up/.test(first)) return first;
      retried++;
      await new Promise((r) => setTimeout(r, 200));
      return getOnce(port, path);
    };
    while ((usp === 0 || cwmp === 0) && Date.now() < deadline) {
      const m = await get(metricsPort!, '/metrics');
      answers.push({ path: '/metrics', result: typeof m === 'string' ? m : { status: m.status, body: '' } });
      if (typeof m !== 'string') {
        text = m.body;
        usp = sample(text, 'cpe_sim_usp_mqtt_connection_failures_total{reason="descriptors"}') ?? 0;
        cwmp = sample(text, 'cpe_sim_cwmp_session_failures_total{reason="descriptors",http_status="none"}') ?? 0;
      }
      if (usp === 0 || cwmp === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(usp).toBeGreaterThan(0);
    expect(cwmp).toBeGreaterThan(0);
    // At the limit now: the listeners still answer, each request before a generous client timeout.
    for (let i = 0; i < 5; i++) {
      const m = await get(metricsPort!, '/metrics');
      answers.push({ path: '/metrics', result: typeof m === 'string' ? m : { status: m.status, body: '' } });
      if (typeof m !== 'string') text = m.body;
      const a = await get(metricsPort!, '/admin/cpes?limit=5');
      answers.push({ path: '/admin/cpes', result: typeof a === 'string' ? a : { status: a.status, body: a.body.slice(0, 20) } });
      const cr = await get(crPort!, '/cr/0/not-the-token');
      answers.push({ path: '/cr', result: typeof cr === 'string' ? cr : { status: cr.status, body: '' } });
    }
    for (const a of answers) expect([a.path, typeof a.result === 'string' ? a.result : a.result.status]).toEqual([a.path, a.path === '/cr' ? expect.any(Number) : 200]);
    expect(retried).toBeLessThanOrEqual(Math.ceil(answers.length / 10));
    expect(answers.filter((a) => a.path === '/cr').every((a) => typeof a.result !== 'string' && a.result.status >= 400 && a.result.status < 500)).toBe(true);

    // The open-fds gauge tells the truth: the count this test reads from outside, no "unsupported" series, no failed read.
    const open = sample(text, 'cpe_sim_process_open_fds{os="linux"}')!;
    const outside = readdirSync(`/proc/${p.pid}/fd`).length;
    process.stdout.write(`open-fds gauge ${open}, counted from outside ${outside}, limit ${LIMIT}\n`);
    expect(Math.abs(open - outside)).toBeLessThan(LIMIT * 0.1);
    expect(open).toBeLessThanOrEqual(LIMIT);
    expect(text).not.toContain('os="unsupported"');
    expect(sample(text, 'cpe_sim_process_max_fds')).toBe(LIMIT);
    expect(sample(text, 'cpe_sim_process_open_fds_read_failures_total')).toBe(0);
    // Logged at warn, rate-limited: one line per reason per 10 s with the count left out.
    const warned = records().filter((r) => r['level'] === 40 && r['reason'] === 'descriptors');
    expect(warned.some((r) => r['msg'] === 'USP MQTT connection failed')).toBe(true);
    expect(warned.some((r) => r['msg'] === 'session failed')).toBe(true);
    expect(warned.length).toBeLessThan(usp + cwmp);
    expect(warned.every((r) => typeof r['moreSinceLastWarning'] === 'number')).toBe(true);

    // failReasons in the summary the CLI logs when it stops.
    const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stopped = records().find((r) => r['msg'] === 'fleet stopped') as { failReasons: Record<string, number> } | undefined;
    expect(stopped?.failReasons['descriptors']).toBeGreaterThan(0);
    expect(stopped?.failReasons['usp-descriptors']).toBeGreaterThan(0);
  }, 100_000);

  it('the open-fds count at the limit: the spare descriptor is given up for the read; without one the last good count stays and the failure is counted', () => {
    // A child at a low limit fills its descriptor table with /dev/null, then reads.
    const script = `
      const { openSync } = require('node:fs');
      import(${JSON.stringify(`${repoRoot}dist/src/util/fds.js`)}).then(({ FdGate, FdMonitor, readFdLimit }) => {
        const limit = readFdLimit();
        const gate = FdGate.create(limit.soft, 10);
        const failures = [];
        const withSpare = new FdMonitor(gate, limit);
        const noSpare = new FdMonitor(FdGate.create(limit.soft, 10), limit, (e) => failures.push(e), false);
        const before = noSpare.sample();
        let filled = 0;
        try { for (;;) { openSync('/dev/null', 'r'); filled++; } } catch (e) { if (e.code !== 'EMFILE') throw e; }
        const atLimit = withSpare.sample();
        const stale = noSpare.sample();
        console.log(JSON.stringify({ soft: limit.soft, source: limit.source, before, filled, atLimit, readFailuresWithSpare: withSpare.readFailures, stale, readFailures: noSpare.readFailures, failures, gateOpen: gate.tryOpen(1) }));
      });`;
    const r = spawnSync('prlimit', ['--nofile=200:200', process.execPath, '-e', script], { env: cliEnv(), encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { soft: number; source: string; before: number; filled: number; atLimit: number; readFailuresWithSpare: number; stale: number; readFailures: number; failures: string[]; gateOpen: boolean };
    expect(out.soft).toBe(200);
    expect(out.source).toBe('proc');
    // Every slot is in use: the count says so (what was open, plus the filling, less the spare given up for the read).
    expect(out.atLimit).toBe(out.before + out.filled - 1);
    expect(out.atLimit).toBeGreaterThanOrEqual(199);
    expect(out.readFailuresWithSpare).toBe(0);
    // No spare: the read fails under EMFILE, the last good value stays, the failure is counted and reported.
    expect(out.stale).toBe(out.before);
    expect(out.readFailures).toBe(1);
    expect(out.failures[0]).toMatch(/^EMFILE/);
    // The gate of the monitor that could read is closed: the process is at its limit.
    expect(out.gateOpen).toBe(false);
  });
});
