// The real CLI as a daemon (with --metrics-bind-addr 127.0.0.1:0): started as a child
// process, its JSON log kept, the metrics listener's port read from the log line that
// announces it, and POST /admin/events to play a fleet event.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { request } from 'node:http';
import { spawnCli } from './cli.js';

export interface Daemon {
  child: ChildProcessWithoutNullStreams;
  metricsPort: number;
  /** Every JSON log record so far (stdout and stderr). */
  records(): Array<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL if it has not exited within 20 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** Start the CLI with `args` (which must include `--metrics-bind-addr 127.0.0.1:0`); killed after timeoutMs. */
export async function startDaemon(args: string[], timeoutMs: number): Promise<Daemon> {
  const child = spawnCli(args, timeoutMs);
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const records = (): Array<Record<string, unknown>> =>
    log.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const deadline = Date.now() + 30_000;
  let metricsPort: number | undefined;
  while (metricsPort === undefined) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cpe-sim exited before its metrics listener was up:\n${log.slice(-3000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`cpe-sim: no 'metrics and admin listener up' within 30 s:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    const r = records().find((x) => x['msg'] === 'metrics and admin listener up');
    if (r) metricsPort = Number(String(r['bind']).split(':').at(-1));
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  };
  return { child, metricsPort, records, stop };
}

/** POST a JSON body to the admin listener; resolves with the status and body. */
export function adminPost(port: number, path: string, body: unknown): Promise<{ status: number; body: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}
