// A real mosquitto (Debian package `mosquitto`, 2.x: MQTT 3.1.1 and 5) for tests, on its
// own loopback port with a throwaway config: no persistence (unless asked), anonymous, quiet logs.
// restart() brings it back on the same port, for broker-outage tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, findBinary, freePort } from './peers.js';

export interface MosquittoOptions {
  /** Listener port on 127.0.0.1; default: a free ephemeral port. */
  port?: number;
  /**
   * Make the listener TLS (mqtts://): PEM files of the server certificate and key; with
   * `clientCaFile`, every client must present a certificate signed by that CA.
   */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /**
   * Keep sessions across a restart, as a production broker does: persistence on, in this
   * folder (the caller makes it and removes it), written when mosquitto stops and read when
   * it starts. A persistent client's subscriptions come back with the broker, and what is
   * published to them while that client is away (QoS 0 too) is queued for it, unbounded.
   */
  persistenceDir?: string;
}

export interface Mosquitto {
  url: string;
  port: number;
  /** SIGTERM and wait for exit (idempotent). */
  stop(): Promise<void>;
  /** stop() if running, then start again on the same port (also after stop()). */
  restart(): Promise<void>;
}

const WAIT_MS = 5000;
const HOST = '127.0.0.1';

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const bin = findBinary('mosquitto', 'mosquitto', '/usr/sbin');
  const port = opts.port ?? (await freePort(HOST));
  const lines = [
    `listener ${port} ${HOST}`,
    'allow_anonymous true',
    ...(opts.persistenceDir !== undefined
      ? ['persistence true', `persistence_location ${opts.persistenceDir}/`, 'queue_qos0_messages true', 'max_queued_messages 0']
      : ['persistence false']),
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'connection_messages false',
  ];
  // Started as root, mosquitto would drop to user "mosquitto" and could not read the
  // key files of the test fixtures; a test broker has nothing to protect.
  if (process.getuid?.() === 0) lines.push('user root');
  if (opts.tls) lines.push(`certfile ${opts.tls.certFile}`, `keyfile ${opts.tls.keyFile}`);
  if (opts.tls?.clientCaFile) lines.push(`cafile ${opts.tls.clientCaFile}`, 'require_certificate true');
  const confText = `${lines.join('\n')}\n`;

  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    // The config is only read at start-up: write it to a fresh temp dir, remove it after.
    const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, confText);
    let stderr = '';
    const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    try {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        if (exited) throw new Error(`mosquitto exited on start (port ${port}): ${stderr.trim()}`);
        if (await accepts(HOST, port)) return;
        if (Date.now() > deadline) {
          child = undefined;
          await stopProc(proc);
          throw new Error(`mosquitto did not accept TCP on ${HOST}:${port} within ${WAIT_MS} ms: ${stderr.trim()}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc) await stopProc(proc);
  };

  await start();
  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://${HOST}:${port}`,
    port,
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}

/** SIGTERM, wait for exit; SIGKILL if it lingers; throw if even that takes too long. */
async function stopProc(proc: ChildProcess): Promise<void> {
  if (await waitExit(proc, 'SIGTERM')) return;
  if (await waitExit(proc, 'SIGKILL')) return;
  throw new Error(`mosquitto (pid ${proc.pid}) did not exit`);
}

/** Send `signal` unless already exited; resolve whether it exited within WAIT_MS. */
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
