// The CLI on a terminal: under a real pseudo-terminal (util-linux `script`), with
// text logs (--log-format text, the default on a terminal), boot progress is one status line redrawn in place, the log lines
// printed meanwhile whole above it; piped, or with --log-format json, or --no-progress,
// progress stays log lines with no escape sequence.
import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { cliEnv, runCli } from './helpers/cli.js';
import { repoRoot } from './helpers/harness.js';
import { findBinary, freePort } from './helpers/peers.js';

const ESC = '\x1b';
/** CSI sequences (erase, cursor moves, synchronized output) and the pty's carriage returns removed. */
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
const shQuote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Run the CLI under a pseudo-terminal (stdout and stderr both the pty), `cols` wide when
 * given (else the pty reports no size and the CLI takes 80); bounded: killed after timeoutMs.
 */
function underPty(args: string[], timeoutMs = 60_000, cols?: number): Promise<{ code: number | null; out: string }> {
  // bsdutils is the Debian package of util-linux's `script`.
  const script = findBinary('script', 'bsdutils', '/usr/bin');
  const command = `${cols ? `stty cols ${cols} rows 40 && exec ` : ''}${[process.execPath, `${repoRoot}dist/src/cli/main.js`, ...args].map(shQuote).join(' ')}`;
  return new Promise((resolve) => {
    // -q no banner, -f flush each write, -e the command's exit code, -c the command; no typescript file.
    const p = spawn(script, ['-qfec', command, '/dev/null'], { env: { ...cliEnv(), TERM: 'xterm' }, cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL' });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('close', (code) => {
      p.stdin.end();
      resolve({ code, out });
    });
  });
}

const fleet = ['--mock-acs', '127.0.0.1:0', '--cr-bind-addr', '127.0.0.1:0', '--cpes', '300', '--boot-ramp', '100/s', '--shards', '2'];
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) /;
const STATUS = /(\d+)s \| new (\d+) bootstrapping (\d+) ready (\d+) failed (\d+) \| (\d+\.\d) sessions\/s/g;

describe('boot progress on a terminal', () => {
  it('--log-format text on a TTY: one live line redrawn in place (states, sessions/s), log lines whole above it, the summary after', async () => {
    const r = await underPty([...fleet, '--duration', '10', '--log-format', 'text']);
    expect(r.code).toBe(0);
    // Redrawn in place: the previous frame erased (erase line, cursor up) before each new one.
    expect(r.out).toContain(`${ESC}[2K`);
    expect(r.out).toContain(`${ESC}[1A`);
    const frames = [...plain(r.out).matchAll(STATUS)].map((m) => ({ second: Number(m[1]), new: Number(m[2]), bootstrapping: Number(m[3]), ready: Number(m[4]), failed: Number(m[5]), rate: Number(m[6]) }));
    // About one frame a second, counting up; the fleet boots: all 300 ready, sessions/s above 0 on the way.
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(new Set(frames.map((f) => f.second)).size).toBeGreaterThanOrEqual(3);
    for (const f of frames) expect(f.new + f.bootstrapping + f.ready + f.failed).toBe(300);
    expect(frames.at(-1)).toMatchObject({ ready: 300, failed: 0 });
    expect(Math.max(...frames.map((f) => f.rate))).toBeGreaterThan(0);
    // No progress log line: the live line replaces them.
    expect(plain(r.out)).not.toMatch(/ INFO progress /);
    // Every log record is a whole line of its own, never sharing one with the status.
    const lines = plain(r.out).split('\n');
    const records = lines.filter((l) => / (INFO|WARN|ERROR) /.test(l));
    expect(records.length).toBeGreaterThanOrEqual(5);
    for (const l of records) expect([l, LOG_LINE.test(l) && !/sessions\/s/.test(l)]).toEqual([l, true]);
    // On the screen, not only in the byte stream: a log record that follows a drawn status
    // line comes after that line was erased (else the next redraw, moving the cursor up over
    // the lines it drew, would overwrite the record).
    const frameEnds = [...r.out.matchAll(/\d+s \| new \d+ bootstrapping [^\n]*\n/g)].map((m) => m.index! + m[0].length);
    const recordStarts = [...r.out.matchAll(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARN|ERROR) /g)].map((m) => m.index!);
    let checked = 0;
    for (const p of recordStarts) {
      const f = frameEnds.filter((x) => x < p).at(-1);
      // The last frame is the final state, kept on purpose: what follows it prints below.
      if (f === undefined || f === frameEnds.at(-1) || recordStarts.some((q) => q > f && q < p)) continue;
      expect([r.out.slice(f, p).includes(`${ESC}[2K`), JSON.stringify(r.out.slice(f, p + 40))]).toEqual([true, expect.any(String)]);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(1);
    // The log line written while the status was up ("all 300 ready") came through whole.
    expect(records.filter((l) => /INFO all 300 ready in \d+(\.\d)? s cpes=300/.test(l))).toHaveLength(1);
    // The last state stays, then the stop's log and the JSON summary.
    const summaryAt = lines.findIndex((l) => l.startsWith('{"summary":'));
    expect(summaryAt).toBeGreaterThan(0);
    expect(JSON.parse(lines[summaryAt]!)).toMatchObject({ summary: { ready: 300, failed: 0 } });
    expect(lines.findIndex((l) => / INFO fleet stopped /.test(l))).toBeLessThan(summaryAt);
    expect(lines.findLastIndex((l) => /sessions\/s/.test(l))).toBeLessThan(lines.findIndex((l) => / INFO fleet stopped /.test(l)));
  });

  it('a bootstrap run whose ACS refuses connections, no --log-format (text on a terminal): the line shows the failures by reason, then the verdict (exit 1)', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await freePort('127.0.0.1');
    const r = await underPty(['--acs-url', `http://127.0.0.1:${port}/`, '--cr-bind-addr', '127.0.0.1:0', '--cpes', '20', '--shards', '1', '--boot-ramp', '0'], 60_000, 120);
    expect(r.code).toBe(1);
    const out = plain(r.out);
    expect(out).toMatch(/\n\d{4}-\d\d-\d\dT[\d:.]+Z INFO starting fleet /);
    expect(out).toMatch(/\d+s \| new 0 bootstrapping 0 ready 0 failed 20 \| \d+\.\d sessions\/s \| failures connect 20\n/);
    expect(out).toMatch(/\n\{"summary":\{.*"verdict":"20 of 20 CPEs did not bootstrap \(reason connect: 20\)"\}\}\n/);
  });

  it('piped (no TTY), the same run logs a progress line every 5 s and writes no escape sequence', async () => {
    const r = await runCli([...fleet, '--duration', '7', '--log-format', 'text'], 60_000);
    expect(r.code).toBe(0);
    expect(r.stderr + r.stdout).not.toContain(ESC);
    expect(r.stderr).not.toMatch(/sessions\/s/);
    expect(r.stderr).toMatch(/ INFO progress new=\d+ bootstrapping=\d+ ready=\d+ failed=\d+ bootstraps=\d+ sessionsOk=\d+ sessionsFailed=\d+ active=\d+ queued=\d+\n/);
  });

  it('--log-format json on a TTY: JSON lines only, progress among them', async () => {
    const r = await underPty([...fleet, '--duration', '7', '--log-format', 'json']);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(ESC);
    const lines = r.out.split(/\r?\n/).filter((l) => l !== '');
    const records = lines.map((l) => JSON.parse(l) as { msg?: string; ready?: number; summary?: unknown });
    expect(records.filter((x) => x.msg === 'progress').length).toBeGreaterThanOrEqual(1);
    expect(records.at(-1)).toHaveProperty('summary');
  });

  it('--no-progress on a TTY: text progress log lines, no live line', async () => {
    const r = await underPty([...fleet, '--duration', '7', '--log-format', 'text', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(ESC);
    expect(r.out).not.toMatch(/sessions\/s/);
    expect(r.out).toMatch(/ INFO progress new=\d+ bootstrapping=\d+ ready=\d+/);
  });
});
