// --help as a user reads it: numbers typed as numbers, the run modes with their exit codes,
// three examples; and an unknown flag answered with the closest known one.
import { describe, expect, it } from '@jest/globals';
import { OPTIONS, toKebab } from '../src/config/options.js';
import { runCli as run } from './helpers/cli.js';

/** The help text of each option, by flag: its line and the wrapped lines under it. */
function blocks(help: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur: string | undefined;
  for (const line of help.split('\n')) {
    const m = /^\s+(?:-\w, )?--([a-z][a-z0-9-]*)\s/.exec(line);
    if (m) cur = m[1]!;
    else if (!/^\s{10,}/.test(line)) cur = undefined;
    if (cur !== undefined) out.set(cur, `${out.get(cur) ?? ''}${line}\n`);
  }
  return out;
}

describe('cpe-sim --help', () => {
  let help = '';
  it('exits 0 and lists every option with its type: integers and seconds as [number]', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    help = r.stdout;
    const b = blocks(help);
    for (const o of OPTIONS) {
      const text = b.get(toKebab(o.key));
      expect(text).toBeDefined();
      const want = o.kind.t === 'int' || o.kind.t === 'seconds' ? '[number]' : o.kind.t === 'bool' ? '[boolean]' : '[string]';
      expect([toKebab(o.key), text!.includes(want)]).toEqual([toKebab(o.key), true]);
    }
    expect(b.get('cpes')).toMatch(/\[number\] \[default: 100\]/);
    expect(b.get('duration')).toMatch(/\[number\] \[default: 0\]/);
    expect(b.get('acs-url')).toContain('[string]');
  });

  it('says the three run modes with their exit codes', () => {
    const modes = help.slice(help.indexOf('Run modes and exit codes:'));
    expect(modes).not.toBe('');
    const flat = modes.replace(/\s+/g, ' ');
    expect(flat).toContain('bootstrap run nothing long-lived configured');
    expect(flat).toContain('exit 0 when every CPE bootstrapped, 1 when some failed');
    expect(flat).toContain('daemon --metrics-bind-addr, --mock-acs, USP (--usp-broker, embedded or not, --usp-controller-url, --usp-ws-listen) or --duration: runs, logs "all N ready in X s" once');
    expect(flat).toContain('until SIGINT/SIGTERM (exit 0) or the --duration ends it: then a JSON summary on stdout; exit 1 when every CWMP session failed (or, USP only, no agent was connected at the end), else 0');
    expect(flat).toContain('scenario run cpe-sim run FILE: exit 0 when every threshold held, 99 when one failed');
    expect(flat).toContain('exit 2: a bad option, profile or scenario file, refused before anything starts');
    expect(flat).toContain('exit 1: the fleet could not start');
    expect(flat).toContain('signals SIGINT/SIGTERM stops the fleet cleanly, also during start-up (as soon as the fleet is up): a daemon or a bootstrap run exits 0 (a bootstrap run with its summary), a scenario run is judged on what ran (0 or 99); a second signal exits at once with 130');
  });

  it('gives three examples: a daemon on the mock ACS, a bootstrap run on an ACS, a scenario run', () => {
    const ex = help.slice(help.indexOf('Examples:'), help.indexOf('Run modes'));
    const starts = ex.split('\n').filter((l) => /^ {2}cpe-sim /.test(l));
    expect(starts).toHaveLength(3);
    expect(starts[0]).toContain('cpe-sim --mock-acs 127.0.0.1:7647');
    expect(starts[1]).toContain('cpe-sim --acs-url http://acs.example:7547/');
    expect(starts[2]).toContain('cpe-sim run scenarios/boot-storm.yaml');
  });

  it('a number flag still gets the config loader\'s precise refusal, not a NaN', async () => {
    const r = await run(['--cpes', 'lots', '--mock-acs', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('config: cpes (flag --cpes): expected an integer from 1 to 10000000, got "lots"');
  });
});

describe('an unknown flag suggests the closest known one (exit 2)', () => {
  it.each([
    [['--cpess', '3'], 'config: unknown flag --cpess (did you mean "--cpes"?)'],
    [['--mock-ac', '127.0.0.1:0', '--acsurl', 'http://x/'], 'config: unknown flag --mock-ac (did you mean "--mock-acs"?); unknown flag --acsurl (did you mean "--acs-url"?)'],
    [['--metrics-bind-adr=127.0.0.1:0'], 'config: unknown flag --metrics-bind-adr (did you mean "--metrics-bind-addr"?)'],
    [['--zzzz'], 'config: unknown flag --zzzz'],
    [['extra'], 'config: unexpected argument "extra" (options are flags: --name value; a scenario runs as cpe-sim run FILE)'],
    [['run', 'scenarios/boot-storm.yaml', '--reprot', 'out'], 'config: unknown flag --reprot (did you mean "--report"?)'],
  ])('%j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(message);
    expect(r.stdout).toBe('');
  });
});
