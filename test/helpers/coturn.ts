// A real STUN server for tests: coturn (Debian package `coturn`) started as
// `turnserver` in STUN-only mode (no TURN relay, no TLS/DTLS, no CLI) on a free loopback
// UDP port, with its config, database, pid and log in a temp dir removed at stop.
// Ready once it answers a Binding Request.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindingRequest, parseStunAnswer } from '../../src/cwmp/stun.js';
import { findBinary } from './peers.js';

export interface Coturn {
  /** The loopback addresses it listens on, each with `port`. */
  hosts: string[];
  port: number;
  stop(): Promise<void>;
}

/** coturn's start on a loaded machine (two cores busy with the rest of the suite) can take seconds. */
const WAIT_MS = 20_000;

async function freeUdpPort(host: string): Promise<number> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** One Binding Request to host:port; resolves whether an answer came within `ms`. */
function answers(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const tid = randomBytes(12);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('message', (b) => {
      const a = parseStunAnswer(b);
      if (a?.transactionId.equals(tid)) done(true);
    });
    s.on('error', () => done(false));
    s.send(bindingRequest({ transactionId: tid, bindingChange: false }), port, host);
  });
}

/** Start coturn as a STUN server on 127.0.0.1 (and the other given loopback hosts, e.g. ::1). */
export async function startCoturn(hosts: string[] = ['127.0.0.1']): Promise<Coturn> {
  const bin = findBinary('turnserver', 'coturn', '/usr/bin');
  const port = await freeUdpPort(hosts[0]!);
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-coturn-'));
  const log = join(dir, 'turn.log');
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(
    conf,
    [
      ...hosts.map((h) => `listening-ip=${h}`),
      `listening-port=${port}`,
      'stun-only',
      'no-tcp',
      'no-tls',
      'no-dtls',
      'no-cli',
      'no-software-attribute',
      `userdb=${join(dir, 'turndb')}`,
      `pidfile=${join(dir, 'turnserver.pid')}`,
      `log-file=${log}`,
      'simple-log',
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] });
  let exited = false;
  proc.once('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), WAIT_MS);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (exited) {
      let text = '';
      try {
        text = readFileSync(log, 'utf8').slice(-2000);
      } catch {
        // no log
      }
      await stop();
      throw new Error(`turnserver exited on start (port ${port}): ${text}`);
    }
    if ((await Promise.all(hosts.map((h) => answers(h, port, 200)))).every(Boolean)) return { hosts, port, stop };
    if (Date.now() > deadline) {
      let text = '';
      try {
        text = readFileSync(log, 'utf8').slice(-2000);
      } catch {
        // no log
      }
      await stop();
      throw new Error(`turnserver did not answer STUN on ${hosts.join(', ')} port ${port} within ${WAIT_MS} ms; its log: ${text}`);
    }
  }
}
