// The container image. No Docker engine runs where the tests run, so the image is not built
// here: this suite checks the Dockerfile's structure as parsed by dockerfile-ast (the parser
// of the Dockerfile language server) and linted by dockerfile-utils, the .dockerignore, that
// what the runtime stage copies exists, that the image's environment is a valid cpe-sim
// configuration, and runs the image's HEALTHCHECK script against a real cpe-sim daemon.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { loadConfig } from '../src/config/load.js';
import { spawnCli } from './helpers/cli.js';
import { repoRoot, until } from './helpers/harness.js';

const text = readFileSync(`${repoRoot}Dockerfile`, 'utf8');
const dockerfile = DockerfileParser.parse(text);
const ignore = readFileSync(`${repoRoot}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

/** The instructions of each stage, by stage name. */
function stages(): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const name = /\bAS\s+(\S+)\s*$/i.exec(i.getArgumentsContent() ?? '')?.[1];
      expect(name).toBeDefined();
      current = [];
      out.set(name!, current);
    } else {
      expect(current).toBeDefined(); // nothing but ARG/directives before the first FROM
      current!.push(i);
    }
  }
  return out;
}
const args = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue());
const flag = (i: Instruction, name: string): string | undefined => ('getFlags' in i ? (i as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags() : []).find((f) => f.getName() === name)?.getValue() ?? undefined;
const jsonForm = (i: Instruction): string[] => JSON.parse(i.getArgumentsContent()!.replace(/^CMD\s+/, '')) as string[];

/** A path of the build context is sent to the engine: not matched by any .dockerignore line. */
const sent = (path: string): boolean => !ignore.some((pattern) => path === pattern || path.startsWith(`${pattern}/`));

describe('Dockerfile', () => {
  it('is valid Dockerfile syntax with no lint errors', () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('has a build stage that installs every dependency with npm ci and compiles with tsc', () => {
    const build = stages().get('build')!;
    expect(build).toBeDefined();
    const run = build.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent()!.replace(/\\\n/g, ' ')).join(' && ');
    expect(run).toMatch(/\bnpm ci\b/);
    expect(run).toMatch(/\btsc -p tsconfig\.json\b/);
    expect(run).toMatch(/\bnpm prune --omit=dev\b/);
    // What it copies from the context exists and is not excluded by .dockerignore.
    for (const i of build.filter((x) => x.getKeyword() === 'COPY')) {
      for (const src of args(i).slice(0, -1)) {
        expect([src, existsSync(`${repoRoot}${src}`), sent(src)]).toEqual([src, true, true]);
      }
    }
  });

  it('has a runtime stage: production deps, the compiled CLI, the shipped profiles, a non-root user, the CLI as entrypoint, a /metrics healthcheck', () => {
    const all = stages();
    expect([...all.keys()]).toEqual(['build', 'runtime']);
    const runtime = all.get('runtime')!;
    const copies = runtime.filter((i) => i.getKeyword() === 'COPY');
    const fromBuild = copies.filter((i) => flag(i, 'from') === 'build').map((i) => args(i)[0]);
    expect(fromBuild).toEqual(expect.arrayContaining(['/app/node_modules', '/app/dist/src', '/app/dist/workers', '/app/dist/scripts/healthcheck.js', '/app/src/usp/proto', '/app/package.json']));
    // Each of those is something the build produces: the same paths of this checkout's build.
    for (const p of fromBuild) expect([p, existsSync(`${repoRoot}${p!.replace(/^\/app\//, '')}`)]).toEqual([p, true]);
    const fromContext = copies.filter((i) => flag(i, 'from') === undefined).map((i) => args(i)[0]!);
    expect(fromContext).toContain('profiles');
    for (const p of fromContext) expect([p, existsSync(`${repoRoot}${p}`), sent(p)]).toEqual([p, true, true]);
    expect(existsSync(`${repoRoot}profiles/example-tr181-gateway/profile.yaml`)).toBe(true);
    // The last USER of the image is neither root nor uid 0, and comes before the entrypoint.
    const users = runtime.filter((i) => i.getKeyword() === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = args(users.at(-1)!)[0]!;
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    const entry = runtime.filter((i) => i.getKeyword() === 'ENTRYPOINT');
    expect(entry).toHaveLength(1);
    expect(jsonForm(entry[0]!)).toEqual(['node', 'dist/src/cli/main.js']);
    expect(runtime.indexOf(users.at(-1)!)).toBeLessThan(runtime.indexOf(entry[0]!));
    const health = runtime.filter((i) => i.getKeyword() === 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(jsonForm(health[0]!)).toEqual(['node', 'dist/scripts/healthcheck.js']);
    expect(existsSync(`${repoRoot}dist/src/cli/main.js`)).toBe(true);
  });

  it("the image's environment with the CLI's own parsing is a valid configuration listening on every interface", () => {
    const env: NodeJS.ProcessEnv = {};
    for (const i of stages().get('runtime')!.filter((x) => x.getKeyword() === 'ENV')) {
      for (const p of (i as unknown as { getProperties(): Array<{ getName(): string; getValue(): string | null }> }).getProperties()) env[p.getName()] = p.getValue() ?? '';
    }
    expect(env['CPE_SIM_METRICS_BIND_ADDR']).toBeDefined();
    const cfg = loadConfig({ flags: { mockAcs: '127.0.0.1:0' }, env });
    expect(cfg.metricsBindAddr).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(cfg.crBindAddr).toEqual({ host: '0.0.0.0', port: 7548 });
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, dist and .git out of the build context', () => {
    for (const p of ['node_modules', 'dist', '.git']) expect(sent(p)).toBe(false);
    for (const p of ['src', 'workers', 'scripts', 'profiles', 'package.json', 'package-lock.json', 'tsconfig.json']) expect(sent(p)).toBe(true);
  });
});

/** The HEALTHCHECK script, run as the image runs it, with the image's variable. */
function healthcheck(metricsAddr: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CPE_SIM_') && k !== 'NODE_OPTIONS'));
    const p = spawn(process.execPath, [`${repoRoot}dist/scripts/healthcheck.js`], { env: { ...env, CPE_SIM_METRICS_BIND_ADDR: metricsAddr }, timeout: 20_000, killSignal: 'SIGKILL' });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('the HEALTHCHECK script', () => {
  it('passes against a running cpe-sim daemon (a 0.0.0.0 bind reached over loopback) and fails with the reason when nothing listens', async () => {
    const port = await freePort();
    const down = await healthcheck(`0.0.0.0:${port}`);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^healthcheck: GET http://0\\.0\\.0\\.0:${port}/metrics: .*ECONNREFUSED`));
    const p = spawnCli(['--mock-acs', '127.0.0.1:0', '--cpes', '2', '--shards', '1', '--cr-bind-addr', '127.0.0.1:0', '--metrics-bind-addr', `0.0.0.0:${port}`, '--log-level', 'info'], 60_000);
    const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
    let log = '';
    p.stderr.on('data', (c: Buffer) => (log += c.toString()));
    try {
      let r = await healthcheck(`0.0.0.0:${port}`);
      for (let i = 0; i < 50 && r.code !== 0 && p.exitCode === null; i++) {
        await new Promise((res) => setTimeout(res, 200));
        r = await healthcheck(`0.0.0.0:${port}`);
      }
      expect(r).toEqual({ code: 0, stderr: '' });
      // SIGTERM once the CLI has its signal handlers, for a clean exit: they are installed in
      // the same tick as the 5 s progress timer, so a first "progress" line proves them there.
      await until(() => log.includes('"msg":"progress"') || p.exitCode !== null, 30_000, 'a progress line');
    } finally {
      p.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('fails on a listener that answers but is not healthy, and without a configured address', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(503).end('busy');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const r = await healthcheck(`127.0.0.1:${(server.address() as { port: number }).port}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('/metrics answered 503');
    } finally {
      server.close();
    }
    const none = await healthcheck('');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no metrics listener configured: set CPE_SIM_METRICS_BIND_ADDR');
  });
});
