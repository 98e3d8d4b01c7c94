// scripts/system-deps.sh, the first step of `npm test` (pretest) and so of CI, on a machine
// where none of the tests' peers is installed: the real peers on this machine are hidden (a
// PATH of only the tools the script needs, and SYSTEM_DEPS_ROOT as the root of the absolute
// paths it looks at), and apt-get is a recorder that "installs" a package by putting its
// binary where the real package puts it. What must hold: it names and installs exactly what
// is missing, with apt-get as root (or through password-less sudo), with the packages'
// services kept from starting (policy-rc.d, removed afterwards, a machine's own one kept);
// otherwise it prints the one command to run and fails.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { repoRoot } from './helpers/harness.js';

const ALL = ['prometheus', 'mosquitto', 'chromium', 'coturn', 'prosody', 'rabbitmq-server'];

/** Where each package's binary lands, as the script looks for it ('PATH' = the PATH dir). */
const BINARY: Record<string, [string, string]> = {
  prometheus: ['PATH', 'promtool'],
  mosquitto: ['usr/sbin', 'mosquitto'],
  chromium: ['usr/bin', 'chromium'],
  coturn: ['usr/bin', 'turnserver'],
  prosody: ['usr/bin', 'prosody'],
  'rabbitmq-server': ['usr/lib/rabbitmq/bin', 'rabbitmq-server'],
};

function which(tool: string): string {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) if (existsSync(join(dir, tool))) return join(dir, tool);
  throw new Error(`system-deps test: ${tool} not found (coreutils/bash are on every Debian install)`);
}

let dir: string;
let bin: string;
let root: string;
let log: string;

/** An executable script at `path`; what was there (a link to a real tool) is unlinked first, never written through. */
function exe(path: string, body: string): void {
  rmSync(path, { force: true });
  writeFileSync(path, `#!${which('bash')}\n${body}\n`);
  chmodSync(path, 0o755);
}

/** A binary of `pkg` where its real package puts it. */
function place(pkg: string): void {
  const [where, name] = BINARY[pkg]!;
  const d = where === 'PATH' ? bin : join(root, where);
  mkdirSync(d, { recursive: true });
  exe(join(d, name), 'exit 0');
}

/** apt-get: records each call (with the service policy in force then) and installs. */
function aptGet(): void {
  const places = Object.entries(BINARY)
    .map(([pkg, [where, name]]) => {
      const d = where === 'PATH' ? bin : join(root, where);
      return `    ${pkg}) mkdir -p '${d}' && printf '#!/bin/sh\\nexit 0\\n' > '${d}/${name}' && chmod 755 '${d}/${name}' ;;`;
    })
    .join('\n');
  exe(
    join(bin, 'apt-get'),
    [
      'PATH=/usr/bin:/bin # the recorder\'s own tools, not the PATH under test',
      `policy="missing"; [ -x '${root}/usr/sbin/policy-rc.d' ] && { '${root}/usr/sbin/policy-rc.d'; policy="exit $?"; }`,
      `echo "apt-get $* | policy: $policy | frontend: \${DEBIAN_FRONTEND:-unset}" >> '${log}'`,
      'if [ "$1" = install ]; then',
      '  for p in "$@"; do case "$p" in',
      places,
      '  esac; done',
      'fi',
    ].join('\n'),
  );
}

function run(args: string[] = [], env: Record<string, string> = {}): { code: number | null; stderr: string; calls: string[] } {
  writeFileSync(log, '');
  const r = spawnSync(which('bash'), [join(repoRoot, 'scripts/system-deps.sh'), ...args], {
    env: { PATH: bin, SYSTEM_DEPS_ROOT: root, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpe-sim-sysdeps-'));
  bin = join(dir, 'bin');
  root = join(dir, 'root');
  log = join(dir, 'calls.log');
  mkdirSync(bin);
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  // The tools the script itself uses, and script (bsdutils, on every Debian install), and
  // nothing else: no promtool, mosquitto, ... on PATH.
  for (const tool of ['bash', 'env', 'tee', 'chmod', 'rm', 'script']) symlinkSync(which(tool), join(bin, tool));
  // Root unless a test says otherwise, whoever runs the tests.
  exe(join(bin, 'id'), '[ "$1" = -u ] && echo 0');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/system-deps.sh on a machine without the tests\' peers', () => {
  it('as root: installs all six with apt-get, says what, keeps services from starting, and afterwards finds them', () => {
    aptGet();
    expect(run(['--check'])).toMatchObject({ code: 1, stderr: `system-deps: missing ${ALL.join(' ')} (npm test installs them)\n` });
    const r = run();
    expect(r.stderr).toBe(`system-deps: installing ${ALL.join(' ')} (Debian packages) for the tests\nsystem-deps: installed ${ALL.join(' ')}\n`);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([
      'apt-get update -qq | policy: exit 101 | frontend: unset',
      `apt-get install -y -qq ${ALL.join(' ')} | policy: exit 101 | frontend: noninteractive`,
    ]);
    // The temporary policy is gone; the next run finds everything and does nothing.
    expect(existsSync(join(root, 'usr/sbin/policy-rc.d'))).toBe(false);
    expect(run()).toEqual({ code: 0, stderr: '', calls: [] });
    expect(run(['--check'])).toMatchObject({ code: 0, stderr: 'system-deps: every system package the tests use is here\n' });
  });

  it('installs only what is missing, and leaves a machine\'s own policy-rc.d as it was', () => {
    aptGet();
    for (const pkg of ['prometheus', 'mosquitto', 'coturn', 'rabbitmq-server']) place(pkg);
    writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(root, 'usr/sbin/policy-rc.d'), 0o755);
    const r = run();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^system-deps: installing chromium prosody \(Debian packages\)/);
    expect(r.calls[1]).toBe('apt-get install -y -qq chromium prosody | policy: exit 0 | frontend: noninteractive');
    expect(readFileSync(join(root, 'usr/sbin/policy-rc.d'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
  });

  it('not root, no sudo: prints the one apt-get command to run and fails, installing nothing', () => {
    aptGet();
    exe(join(bin, 'id'), '[ "$1" = -u ] && echo 1000');
    const r = run();
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`system-deps: the tests need the Debian packages: ${ALL.join(' ')}; run: sudo apt-get update && sudo apt-get install -y ${ALL.join(' ')}`);
    expect(r.calls).toEqual([]);
  });

  it('not root, sudo without a password: installs through sudo', () => {
    aptGet();
    exe(join(bin, 'id'), '[ "$1" = -u ] && echo 1000');
    // As Debian's sudo does (env_reset): the command gets a fresh environment.
    exe(join(bin, 'sudo'), `[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; echo "sudo $1" >> '${log}'; exec ${which('env')} -i PATH="$PATH" "$@"`);
    const r = run();
    expect(r.code).toBe(0);
    expect(r.calls.filter((c) => c.startsWith('sudo apt-get') || c.startsWith('sudo env'))).toHaveLength(2);
    expect(r.calls).toContain(`apt-get install -y -qq ${ALL.join(' ')} | policy: exit 101 | frontend: noninteractive`);
    expect(existsSync(join(root, 'usr/sbin/policy-rc.d'))).toBe(false);
  });

  it('root without apt-get (not Debian): says to use the package manager, and fails', () => {
    const r = run();
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`system-deps: no apt-get here; install ${ALL.join(' ')} with your package manager`);
  });
});
