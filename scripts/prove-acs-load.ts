// Runs a scenario against a real ACS process and checks cpe-sim's summary against what
// that ACS counted on its own side. The ACS is the standalone mock (npm run mock-acs) in
// overload mode: at most --max-sessions open sessions, 503 + Retry-After beyond, an added
// latency. It must agree with the summary on:
//   - 503s: every refusal the ACS sent is a session cpe-sim counted failed with HTTP 503
//     (a link reset that cut the 503's body too; a power loss can cut one unread);
//   - Informs: every Inform the ACS answered is one cpe-sim timed (a power loss can cut
//     one the ACS received before cpe-sim read the answer);
//   - sessions and cuts: a session the ACS completed is one cpe-sim completed, or one
//     whose last reply a link reset cut on the CPE's side after the ACS had ended it; the
//     ACS saw no more cuts than cpe-sim made, and no session is left open.
// Usage: node dist/scripts/prove-acs-load.js SCENARIO.yaml [--report DIR] [--max-sessions N]
//          [--retry-after S] [--latency MS±J] [-- cpe-sim options...]
// Exits 0 when every check holds, 1 otherwise; prints a JSON line with both sides' numbers.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MockAcsCounts } from '../src/mock-acs/mock-acs.js';
import type { Summary } from '../src/scenario/summary.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Args {
  scenario: string;
  report: string;
  maxSessions: string;
  retryAfter: string;
  latency: string;
  rest: string[];
}

function parseArgs(argv: string[]): Args {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const rest = dash >= 0 ? argv.slice(dash + 1) : [];
  const a: Args = { scenario: '', report: '', maxSessions: '40', retryAfter: '8', latency: '30±10', rest };
  for (let i = 0; i < own.length; i++) {
    const k = own[i]!;
    const v = own[i + 1];
    const take = () => {
      if (v === undefined) throw new Error(`${k} needs a value`);
      i++;
      return v;
    };
    if (k === '--report') a.report = take();
    else if (k === '--max-sessions') a.maxSessions = take();
    else if (k === '--retry-after') a.retryAfter = take();
    else if (k === '--latency') a.latency = take();
    else if (k.startsWith('--')) throw new Error(`unknown option ${k}`);
    else if (!a.scenario) a.scenario = k;
    else throw new Error(`one scenario at a time (got ${a.scenario} and ${k})`);
  }
  if (!a.scenario) throw new Error('give the scenario file');
  a.report ||= mkdtempSync(join(tmpdir(), 'cpe-sim-proof-'));
  return a;
}

/** Start the standalone mock ACS; resolves with its URL once it listens. */
function startAcs(a: Args): Promise<{ url: string; stop: () => Promise<MockAcsCounts> }> {
  const p = spawn(process.execPath, [join(root, 'dist/scripts/mock-acs.js'), '--bind', '127.0.0.1:0', '--max-sessions', a.maxSessions, '--retry-after', a.retryAfter, '--latency', a.latency, '--quiet'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let listening = false;
  return new Promise((resolve, reject) => {
    const early = (code: number | null) => reject(new Error(`the mock ACS exited (${code}) before it listened`));
    p.once('exit', early);
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+?\/)\s/.exec(out);
      if (!m || listening) return;
      listening = true;
      p.off('exit', early);
      resolve({
        url: m[1]!,
        stop: () =>
          new Promise((done, fail) => {
            p.once('exit', () => {
              const line = out.split('\n').find((l) => l.startsWith('{"mockAcsCounts"'));
              if (line) done((JSON.parse(line) as { mockAcsCounts: MockAcsCounts }).mockAcsCounts);
              else fail(new Error('the mock ACS printed no counts'));
            });
            p.kill('SIGTERM');
          }),
      });
    });
  });
}

function runScenario(a: Args, acsUrl: string): Promise<number | null> {
  const args = [join(root, 'dist/src/cli/main.js'), 'run', a.scenario, '--acs-url', acsUrl, '--report', a.report, ...a.rest];
  const p = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

export interface ProofCheck {
  what: string;
  cpeSim: number;
  acs: number;
  ok: boolean;
}

/**
 * The checks, from both sides' numbers. A link reset cuts a session after the ACS answered
 * (so the ACS saw it cut, unless that answer was the one that ended it); a power loss, or the
 * stop's grace running out, cuts whatever is in flight, possibly before the ACS saw anything
 * (or before its answer was read). Hence agreement within what those cuts leave open: exact
 * when none happened. Sessions in flight when the last stage ended end during the stop (the
 * summary's `stop`), and the ACS counts them too.
 */
export function checks(s: Summary, acs: MockAcsCounts): ProofCheck[] {
  const run = s.run;
  const byReason: Record<string, number> = { ...run.failures.byReason };
  for (const [k, v] of Object.entries(s.stop?.byReason ?? {})) byReason[k] = (byReason[k] ?? 0) + v;
  const ok = run.sessions.ok + (s.stop?.ok ?? 0);
  const resets = byReason['reset'] ?? 0;
  const powerOff = (byReason['power-off'] ?? 0) + (byReason['stopped'] ?? 0);
  // A reset can also cut the reply of an Inform the ACS refused (503): no session at the
  // ACS. Those are the failures with an HTTP status that are not 'http-status' ones.
  const statusFailures = Object.values(run.failures.byStatus).reduce((a, n) => a + n, 0);
  const refusedCuts = Math.max(0, statusFailures - (run.failures.byReason['http-status'] ?? 0) - (run.failures.byReason['auth'] ?? 0));
  // Informs of sessions in flight at the end were answered (or refused) during the stop.
  const late = s.stop?.inFlight ?? 0;
  const cuts = resets + powerOff - refusedCuts;
  // Any other failure (a timeout, a read error) can come after the ACS already ended the
  // session: a session it completed that cpe-sim counts failed.
  const accounted = ['http-status', 'reset', 'power-off', 'stopped', 'link-down', 'stall'];
  const otherFailures = Object.entries(byReason).reduce((a, [r, n]) => (accounted.includes(r) ? a : a + n), 0);
  const informs = run.acsResponseMs['Inform']?.count ?? 0;
  const cutAfterEnd = acs.sessionsCompleted - ok;
  const within = (v: number, lo: number, hi: number) => v >= lo && v <= hi;
  return [
    { what: `503 refusals (the ACS may also have sent up to ${powerOff} that a power loss or the stop cut before cpe-sim read them, and up to ${late} during the stop)`, cpeSim: run.failures.byStatus['503'] ?? 0, acs: acs.refused503, ok: within(acs.refused503, run.failures.byStatus['503'] ?? 0, (run.failures.byStatus['503'] ?? 0) + powerOff + late) },
    { what: `Informs answered (the ACS may also have had up to ${powerOff} cut by a power loss or the stop, and answered up to ${late} during the stop)`, cpeSim: informs, acs: acs.informs, ok: within(acs.informs, informs, informs + powerOff + late) },
    {
      what: `sessions completed (cpe-sim: ok${s.stop ? ` (${s.stop.ok} of them during the stop)` : ''}, plus cut by the link after the ACS ended them: ${cuts} cut - ${acs.resets} the ACS saw cut${powerOff ? `, less up to ${powerOff} cut before the ACS saw them` : ''}${otherFailures ? `, plus up to ${otherFailures} that failed otherwise (${JSON.stringify(byReason)})` : ''})`,
      cpeSim: ok + cuts - acs.resets,
      acs: acs.sessionsCompleted,
      ok: within(cutAfterEnd, cuts - acs.resets - powerOff, cuts - acs.resets + otherFailures) && cutAfterEnd >= 0,
    },
    { what: 'sessions the ACS saw cut (at most those cpe-sim cut)', cpeSim: cuts, acs: acs.resets, ok: acs.resets <= cuts },
    { what: 'sessions started = completed + cut + expired, none open', cpeSim: acs.sessionsCompleted + acs.resets + acs.expired, acs: acs.sessionsStarted, ok: acs.sessionsStarted === acs.sessionsCompleted + acs.resets + acs.expired && acs.sessionsOpen === 0 },
  ];
}

async function main(): Promise<number> {
  let a: Args;
  try {
    a = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`prove-acs-load: ${(e as Error).message}\n`);
    return 2;
  }
  const acs = await startAcs(a);
  const code = await runScenario(a, acs.url);
  const counts = await acs.stop();
  if (code !== 0 && code !== 99) {
    process.stderr.write(`prove-acs-load: cpe-sim run exited ${code}\n`);
    return 1;
  }
  const summary = JSON.parse(readFileSync(join(a.report, 'summary.json'), 'utf8')) as Summary;
  const list = checks(summary, counts);
  for (const c of list) process.stdout.write(`${c.ok ? 'agree   ' : 'DISAGREE'}  ${c.what}: cpe-sim ${c.cpeSim}, ACS ${c.acs}\n`);
  process.stdout.write(`${JSON.stringify({ proof: { report: a.report, cpeSimExit: code, checks: list, acs: counts } })}\n`);
  return list.every((c) => c.ok) ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then((c) => process.exit(c), (e: unknown) => {
    process.stderr.write(`prove-acs-load: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
