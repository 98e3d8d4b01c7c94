// The CLI as a user runs it for a USP-only fleet (--usp-broker without --acs-url or
// --mock-acs): an MQTT connection is long-lived, so the fleet is a daemon, as with the
// embedded broker. It logs "all N ready in X s" once when every agent is first connected,
// serves the controller until SIGTERM (exit 0), and a --duration run ends with the JSON
// summary (MQTT states included), exit 1 when no agent was connected at the end.
// The broker is an embedded aedes the test starts itself on a free loopback port.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded.js';
import { loadConfig } from '../src/config/load.js';
import { startFleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { runCli as run, spawnCli } from './helpers/cli.js';
import { fixture, tr098Profile, until } from './helpers/harness.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { TestController } from './helpers/usp-controller.js';

interface Summary {
  ready: number;
  failed: number;
  new: number;
  bootstrapping: number;
  mqtt?: Record<string, number>;
  verdict?: string;
}

const summaryOf = (stdout: string): Summary => (JSON.parse(stdout.trim().split('\n').at(-1)!) as { summary: Summary }).summary;

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('cpe-sim USP-only fleets on an external broker', () => {
  let broker: EmbeddedBroker;
  let ctl: TestController;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    ctl = await TestController.start({ url: broker.url, protocolVersion: 4 });
  });
  afterAll(async () => {
    await ctl?.stop();
    await broker?.close();
  });

  /** The log records (JSON lines on stderr) whose msg matches. */
  const logged = (stderr: string, msg: RegExp) =>
    stderr.split('\n').flatMap((l) => {
      try {
        const r = JSON.parse(l) as { msg?: string; cpes?: number; seconds?: number; level?: number };
        return r.msg !== undefined && msg.test(r.msg) ? [r] : [];
      } catch {
        return [];
      }
    });

  it('is a daemon: logs "all N ready" once, answers the controller after that, exits 0 on SIGTERM without a summary', async () => {
    const cpes = 6;
    const p = spawnCli(['--usp-broker', broker.url, '--usp-mqtt-version', '3.1.1', '--cpes', String(cpes), '--shards', '2', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'info'], 60_000);
    const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
    let stderr = '';
    let stdout = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await until(() => logged(stderr, /^all \d+ ready in /).length > 0 || p.exitCode !== null, 30_000, '"all 6 ready" in the log');
      const [ready] = logged(stderr, /^all \d+ ready in /);
      expect(ready).toMatchObject({ cpes, msg: expect.stringMatching(new RegExp(`^all ${cpes} ready in \\d+(\\.\\d)? s$`)) });
      expect(ready!.seconds).toBeGreaterThanOrEqual(0);
      // Still serving: a Get to the last agent is answered after the fleet was all ready.
      const ids = () => [...new Set(ctl.received.filter((x) => x.record.record_type === 'mqtt_connect').map((x) => x.record.from_id))];
      await until(() => ids().length >= cpes, 10_000, 'an MQTTConnect Record from every agent');
      const id = ids().at(-1)!;
      const m = await ctl.request({ endpointId: id, topic: `/usp/agent/${id}` }, { request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }, { msgId: 'daemon-alive' });
      expect(m.header.msg_type).toBe('GET_RESP');
      expect(p.exitCode).toBeNull();
    } finally {
      p.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // Once only, and a daemon stopped by a signal prints no summary on stdout.
    expect(logged(stderr, /^all \d+ ready in /)).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it('with --duration: ends by itself, the summary shows every agent ready and mqtt.connected, exit 0; the controller sees each MQTTConnect Record', async () => {
    const cpes = 20;
    ctl.received.length = 0; // the daemon test's agents (the same ids) connected before
    const r = await run(['--usp-broker', broker.url, '--usp-mqtt-version', '3.1.1', '--cpes', String(cpes), '--shards', '2', '--boot-ramp', '0', '--duration', '4', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'warn']);
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ new: 0, bootstrapping: 0, ready: cpes, failed: 0 });
    expect(s.mqtt?.['connected']).toBe(cpes);
    // Each agent sent its MQTTConnect Record (3.1.1) before the run ended (the broker may
    // hand the last ones to the controller just after the child's exit is seen).
    const connects = () => ctl.received.filter((x) => x.record.record_type === 'mqtt_connect');
    const ids = () => new Set(connects().map((x) => x.record.from_id));
    await until(() => ids().size >= cpes, 5000, 'an MQTTConnect Record from every agent').catch(() => undefined);
    expect(ids().size).toBe(cpes);
    for (const x of connects()) {
      if (x.record.record_type !== 'mqtt_connect') throw new Error('unreachable');
      expect(x.record.to_id).toBe('self::usp-controller');
      expect(x.record.mqtt_connect.version).toBe('V3_1_1');
      expect(x.record.mqtt_connect.subscribed_topic).toBe(`/usp/agent/${x.record.from_id}`);
      expect(x.topic.startsWith('/usp/controller')).toBe(true);
    }
    expect([...ids()].every((id) => /^os::0C5A9E-/.test(id))).toBe(true);
  });

  it('with --duration and nothing listening on the broker port: exit 1, every agent failed, the verdict says so', async () => {
    const port = await closedPort();
    const cpes = 3;
    const r = await run(['--usp-broker', `mqtt://127.0.0.1:${port}`, '--usp-mqtt-version', '3.1.1', '--cpes', String(cpes), '--shards', '1', '--boot-ramp', '0', '--duration', '2', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'error']);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ new: 0, bootstrapping: 0, ready: 0, failed: cpes });
    expect(s.mqtt).toMatchObject({ connected: 0 });
    expect(s.verdict).toMatch(new RegExp(`^no USP agent was connected at the end \\(${cpes} of ${cpes} failed, reason usp-connect: \\d+; connections [a-z]+: \\d+(, [a-z]+: \\d+)*\\)$`));
  });

  it('refuses a profile whose root is not Device before starting anything: exit 2 and a clear message', async () => {
    const port = await closedPort();
    const r = await run(['--profile', tr098Profile, '--usp-broker', `mqtt://127.0.0.1:${port}`, '--cpes', '2', '--shards', '1', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'silent']);
    expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({ code: 2, signal: null, stdout: '' });
    expect(r.stderr).toContain('config: uspBroker: USP needs a TR-181 Device:2 profile (root "Device")');
    expect(r.stderr).toContain('has root "InternetGatewayDevice"');
  });
});

describe('startFleet with USP on a non-Device profile', () => {
  it('rejects with the shard\'s message (the shards check it too)', async () => {
    const port = await closedPort();
    const cfg = loadConfig({
      flags: { profile: tr098Profile, uspBroker: `mqtt://127.0.0.1:${port}`, cpes: '2', shards: '1', bootRamp: '0', crBindAddr: '127.0.0.1:0', logLevel: 'silent' },
      env: {},
    });
    await expect(startFleet(cfg, createLogger('silent', 'json'))).rejects.toThrow(/USP needs a TR-181 Device:2 profile/);
  });
});

describe('cpe-sim USP-only run against a broker that requires client certificates (mosquitto, mqtts)', () => {
  let m: Awaited<ReturnType<typeof startMosquitto>>;
  beforeAll(async () => {
    m = await startMosquitto({ tls: { certFile: fixture('tls/server.pem'), keyFile: fixture('tls/server-key.pem'), clientCaFile: fixture('tls/client-ca.pem') } });
  });
  afterAll(async () => {
    await m?.stop();
  });
  const common = () => ['--usp-broker', m.url, '--usp-ca-file', fixture('tls/ca.pem'), '--cpes', '4', '--boot-ramp', '0', '--duration', '3', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'error'];

  it('--usp-cert/--usp-key: every agent presents the certificate and connects (--duration run, exit 0)', async () => {
    const r = await run([...common(), '--usp-cert', fixture('tls/client.pem'), '--usp-key', fixture('tls/client-key.pem')]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const s = summaryOf(r.stdout);
    expect([s.ready, s.failed, s.mqtt?.['connected']]).toEqual([4, 0, 4]);
  });

  it('without them the broker refuses every agent (--duration run, exit 1, all failed)', async () => {
    const r = await run(common());
    expect(r.code).toBe(1);
    expect(summaryOf(r.stdout)).toMatchObject({ ready: 0, failed: 4 });
  });

  it('refuses a certificate without its key before starting, naming the keys (exit 2)', async () => {
    const r = await run([...common(), '--usp-cert', fixture('tls/client.pem')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('config: uspCert: set without uspKey');
    const mismatch = await run([...common(), '--usp-cert', fixture('tls/client.pem'), '--usp-key', fixture('tls/rogue-key.pem')]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/config: uspCert\/uspKey: .* are not a usable certificate and matching private key/);
  });
});
