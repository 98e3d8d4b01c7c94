// A real RabbitMQ (Debian package `rabbitmq-server`, 3.x) with its STOMP plugin for tests:
// a node of its own (RABBITMQ_NODENAME), every file in a temp dir (config, enabled plugins,
// mnesia, logs, the Erlang cookie through HOME), the STOMP listener and the distribution and
// epmd ports on free loopback ports, AMQP off. It takes seconds to boot: start() waits until
// the STOMP port accepts. stop() sends SIGTERM to the node (SIGKILL if it lingers) and stops
// the epmd it started.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, freePort } from './peers.js';

const HOST = '127.0.0.1';
const BIN = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const START_MS = 60_000;

export interface RabbitMq {
  /** stomp://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The user every test client logs in as. */
  user: { login: string; passcode: string };
  stop(): Promise<void>;
}

export async function startRabbitMq(): Promise<RabbitMq> {
  try {
    accessSync(BIN, constants.X_OK);
  } catch {
    throw new Error(`rabbitmq-server not found at ${BIN}: install the Debian package "rabbitmq-server" (apt-get install rabbitmq-server; scripts/system-deps.sh)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-rabbitmq-'));
  const [stomp, node, dist, epmd] = [await freePort(HOST), await freePort(HOST), await freePort(HOST), await freePort(HOST)];
  const user = { login: 'cpe', passcode: 'cpe-secret' };
  writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_stomp].\n');
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      'listeners.tcp = none',
      `stomp.listeners.tcp.1 = ${HOST}:${stomp}`,
      'loopback_users = none',
      `default_user = ${user.login}`,
      `default_pass = ${user.passcode}`,
      'log.console = false',
      'log.file.level = warning',
    ].join('\n') + '\n',
  );
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `cpesim-${process.pid}-${stomp}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(node),
    RABBITMQ_DIST_PORT: String(dist),
    ERL_EPMD_PORT: String(epmd),
    ERL_EPMD_ADDRESS: HOST,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
  let out = '';
  const child: ChildProcess = spawn(BIN, [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<void> => {
    if (!exited && child.pid !== undefined) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      try {
        process.kill(-child.pid, 'SIGTERM'); // the script and the Erlang VM it starts
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, 15_000);
      await gone;
      clearTimeout(timer);
    }
    await new Promise<void>((r) => execFile('epmd', ['-kill'], { env: { ...process.env, ERL_EPMD_PORT: String(epmd) } }, () => r()));
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_MS;
  while (!(await accepts(HOST, stomp))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`rabbitmq-server did not open its STOMP port ${stomp} within ${START_MS} ms${exited ? ' (it exited)' : ''}: ${out.trim().slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url: `stomp://${HOST}:${stomp}`, port: stomp, user, stop };
}
