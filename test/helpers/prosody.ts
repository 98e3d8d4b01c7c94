// A real prosody (Debian package `prosody`, 0.12) for the XMPP connection-request tests:
// c2s only, on a free loopback port, VirtualHost "localhost", accounts in plain internal
// storage written into a throwaway data dir, no daemon, pidfile and logs in the temp dir.
// restart() brings it back on the same port (the reconnect test).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, findBinary, freePort } from './peers.js';

export interface ProsodyOptions {
  /** Accounts to create (username is the JID's local part). */
  accounts: Array<{ username: string; password: string }>;
  /** TLS for STARTTLS: PEM files of the server certificate (for "localhost") and key. */
  tls?: { certFile: string; keyFile: string };
  /** Refuse to go on without STARTTLS (c2s_require_encryption). */
  requireTls?: boolean;
  /** Offer no SCRAM-SHA-1 (so clients must use PLAIN, which prosody offers only inside TLS). */
  noScram?: boolean;
}

export interface Prosody {
  host: string;
  port: number;
  domain: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** What prosody wrote to its console log (last 8 KiB): for failure messages. */
  log(): string;
}

const WAIT_MS = 10_000;
const HOST = '127.0.0.1';
const DOMAIN = 'localhost';

/** prosody's storage encodes every non-alphanumeric character of a name as %xx. */
const encodeName = (s: string): string => s.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
const luaString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export async function startProsody(opts: ProsodyOptions): Promise<Prosody> {
  const bin = findBinary('prosody', 'prosody', '/usr/bin');
  const port = await freePort(HOST);
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-prosody-'));
  const data = join(dir, 'data');
  const accounts = join(data, encodeName(DOMAIN), 'accounts');
  mkdirSync(accounts, { recursive: true });
  for (const a of opts.accounts) writeFileSync(join(accounts, `${encodeName(a.username.toLowerCase())}.dat`), `return {\n\t["password"] = ${luaString(a.password)};\n};\n`);
  const lines = [
    // Run in the foreground as whoever runs the tests (root in CI containers too).
    'daemonize = false',
    'run_as_root = true',
    `pidfile = ${luaString(join(dir, 'prosody.pid'))}`,
    `data_path = ${luaString(data)}`,
    'log = { { levels = { min = "info" }, to = "console" } }',
    'modules_enabled = { "saslauth", "tls", "ping", "disco", "roster", "presence" }',
    'modules_disabled = { "s2s", "offline", "posix" }',
    `interfaces = { ${luaString(HOST)} }`,
    `c2s_ports = { ${port} }`,
    'c2s_direct_tls_ports = { }',
    'legacy_ssl_ports = { }',
    's2s_ports = { }',
    'http_ports = { }',
    'https_ports = { }',
    `c2s_require_encryption = ${opts.requireTls ? 'true' : 'false'}`,
    // PLAIN over plain TCP only where a test asks for it by turning TLS off; SCRAM is offered either way.
    'allow_unencrypted_plain_auth = false',
    'authentication = "internal_plain"',
    ...(opts.noScram ? ['disable_sasl_mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "DIGEST-MD5" }'] : []),
    'storage = "internal"',
    `certificates = ${luaString(join(dir, 'certs'))}`,
    `VirtualHost ${luaString(DOMAIN)}`,
    ...(opts.tls ? [`ssl = { certificate = ${luaString(opts.tls.certFile)}; key = ${luaString(opts.tls.keyFile)}; }`] : []),
  ];
  mkdirSync(join(dir, 'certs'));
  const conf = join(dir, 'prosody.cfg.lua');
  writeFileSync(conf, `${lines.join('\n')}\n`);

  let child: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    const proc = spawn(bin, ['--config', conf, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const keep = (d: Buffer): void => {
      output = (output + d.toString()).slice(-8192);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (exited) throw new Error(`prosody exited on start (port ${port}): ${output.trim()}`);
      if (await accepts(HOST, port)) return;
      if (Date.now() > deadline) {
        child = undefined;
        await stopProc(proc);
        throw new Error(`prosody did not accept TCP on ${HOST}:${port} within ${WAIT_MS} ms: ${output.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc) await stopProc(proc);
  };
  try {
    await start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    host: HOST,
    port,
    domain: DOMAIN,
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stop();
      await start();
    },
    log: () => output,
  };
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (await waitExit(proc, 'SIGTERM')) return;
  if (await waitExit(proc, 'SIGKILL')) return;
  throw new Error(`prosody (pid ${proc.pid}) did not exit`);
}

function waitExit(proc: ChildProcess, signal: NodeJS.Signals): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.off('exit', onExit);
      resolve(false);
    }, WAIT_MS);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    proc.once('exit', onExit);
    proc.kill(signal);
  });
}
