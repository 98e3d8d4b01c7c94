// Recovery from a broker restart, measured (README "Recovery"). The real CLI runs 1,000
// dual-stack CPEs: CWMP to the mock ACS over HTTP, USP agents over MQTT 5 on mosquitto. The
// broker keeps sessions across a restart (persistence on), as a production broker does, and
// the test controller holds a persistent session, so it misses nothing of what the agents
// send (at QoS 1, which the ACS sets) while it reconnects. The controller subscribes every agent to ValueChange of
// Device.DeviceInfo.ProvisioningCode with NotifRetry (send_resp, TR-369 R-NOT.1) and answers
// every Notify with a NotifyResp. Then the broker stops: every agent loses its connection and
// waits in the Device.MQTT.Client ConnectRetryTime windows (5 s, ×2; R-MQTT.10). While it is
// down the ACS writes a new ProvisioningCode on every CPE (a connection request, then
// SetParameterValues), so every agent has a Notify to deliver and no broker to take it.
// After OUTAGE_MS the broker starts again on the same port. Checked:
// - every agent is connected again (in /metrics, and its MQTTConnect Record at the
//   controller) within the retry window after the most failed attempts the outage allows;
// - nothing is lost: every agent's ValueChange for the value written during the outage
//   reaches the controller after the broker is back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { Inform } from '../src/cwmp/types.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { adminPost, startDaemon, type Daemon } from './helpers/daemon.js';
import { exampleProfile, spv } from './helpers/harness.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { scrape } from './helpers/scrape.js';
import { notifyOf, TestController, type Received } from './helpers/usp-controller.js';

const CPES = 1000;
/** Device.MQTT.Client.1.ConnectRetryTime (s) and ConnectRetryIntervalMultiplier: the profile's defaults. */
const M = 5;
const F = 2;
/** From the broker's stop to its start, at least. */
const OUTAGE_MS = 20_000;
/** A connect's own time past its due time (TCP, CONNECT, SUBSCRIBE, the MQTTConnect Record) on a loaded machine. */
const SLACK_MS = 15_000;
/** The shards push their connection counts every 2 s. */
const PUSH_MS = 2000;
const PC = 'Device.DeviceInfo.ProvisioningCode';
const SUB_ID = 'recovery';

let broker: Mosquitto | undefined;
let ctl: TestController | undefined;
let acs: MockAcs | undefined;
let daemon: Daemon | undefined;
let dir: string | undefined;
afterAll(async () => {
  await daemon?.stop();
  await ctl?.stop();
  await broker?.stop();
  await acs?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The sum of the samples of `name` whose labels contain every `part`. */
function sum(text: string, name: string, ...parts: string[]): number {
  let n = 0;
  for (const l of text.split('\n')) if (l.startsWith(`${name}{`) && parts.every((p) => l.includes(p))) n += Number(l.slice(l.lastIndexOf(' ') + 1));
  return n;
}

/** Most failed reconnects in `ms` after a loss: attempt j comes at least m·(f^j − 1)/(f − 1) s after it. */
function maxFailures(ms: number, m: number, f: number): number {
  let j = 0;
  while ((m * (f ** (j + 1) - 1)) / (f - 1) * 1000 < ms) j++;
  return j;
}

/** Run `fn` over `items`, at most `width` at a time. */
async function inBatches<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

describe('broker restart: 1,000 USP agents reconnect within their retry windows, nothing queued is lost', () => {
  it('every agent is back within m·f^(n_max+1) of the broker start, and delivers the ValueChange made while the broker was down', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpe-sim-broker-'));
    broker = await startMosquitto({ persistenceDir: dir });
    ctl = await TestController.start({ url: broker.url, protocolVersion: 5, session: { clientId: 'recovery-controller', expirySeconds: 600 } });
    const c = ctl;
    /** Serial -> agent endpoint id and topic, from its first MQTTConnect Record. */
    const agents = new Map<string, { endpointId: string; topic: string }>();
    /** Endpoint id -> when its MQTTConnect Records arrived. */
    const connects = new Map<string, number[]>();
    /** Endpoint id -> ValueChange values of our subscription, with arrival times. */
    const changes = new Map<string, Array<{ value: string; at: number }>>();
    c.onReceive((r: Received) => {
      const eid = r.record.from_id;
      const now = Date.now();
      if (r.record.record_type === 'mqtt_connect') {
        connects.set(eid, [...(connects.get(eid) ?? []), now]);
        const serial = eid.slice(eid.lastIndexOf('-') + 1);
        if (!agents.has(serial) && r.replyTo) agents.set(serial, { endpointId: eid, topic: r.replyTo });
        return;
      }
      const n = notifyOf(r);
      if (!n) return;
      if (n.notification === 'value_change' && n.subscription_id === SUB_ID && n.value_change.param_path === PC) {
        changes.set(eid, [...(changes.get(eid) ?? []), { value: n.value_change.param_value, at: now }]);
      }
      // A controller answers every Notify that asks for it (the OnBoardRequest too).
      if (n.send_resp && r.replyTo) void c.notifyResp({ endpointId: eid, topic: r.replyTo }, n.subscription_id, r.msg!.header.msg_id).catch(() => undefined);
    });

    let outage = false;
    acs = new MockAcs({
      script: (inform: Inform) => {
        const codes = inform.events.map((e) => e.code);
        // QoS 1 (LocalAgent.MTP.1.MQTT.PublishQoS; 0 by default, as obuspa): what an agent
        // publishes in the moment before the controller is back is queued for its persistent
        // session instead of dropped by the broker.
        if (codes.includes('0 BOOTSTRAP')) return [spv('boot', ['Device.ManagementServer.PeriodicInformInterval', '3600', 'unsignedInt'], ['Device.LocalAgent.MTP.1.MQTT.PublishQoS', '1', 'unsignedInt'])];
        if (outage && codes.includes('6 CONNECTION REQUEST')) return [spv('outage', [PC, `outage-${inform.deviceId.serialNumber}`, 'string'])];
        return undefined;
      },
    });
    await acs.listen('127.0.0.1', 0);
    daemon = await startDaemon(
      ['--acs-url', acs.url, '--usp-broker', broker.url, '--profile', exampleProfile, '--cpes', String(CPES), '--shards', '2', '--boot-ramp', '500/s',
        '--cr-bind-addr', '127.0.0.1:0', '--metrics-bind-addr', '127.0.0.1:0', '--duration', '400'],
      300_000,
    );
    const mp = daemon.metricsPort;
    const connected = async () => sum(await scrape(mp), 'cpe_sim_usp_mqtt_connection_state', 'state="connected"');
    const waitConnected = async (want: number, timeoutMs: number): Promise<number> => {
      const deadline = Date.now() + timeoutMs;
      let n = await connected();
      while (n !== want && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        n = await connected();
      }
      return n;
    };

    // Up: every CPE bootstrapped over CWMP, every agent connected and known to the controller.
    await acs.waitFor(() => acs!.counts().sessionsCompleted >= CPES, 60_000, 'every bootstrap session');
    expect(await waitConnected(CPES, 30_000)).toBe(CPES);
    const t0 = Date.now();
    while (agents.size < CPES && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
    expect(agents.size).toBe(CPES);
    // Each agent subscribes the controller to ValueChange of ProvisioningCode, with NotifRetry.
    let seq = 0;
    await inBatches([...agents.values()], 50, async (a) => {
      const m = await c.request(a, { request: { add: { allow_partial: false, create_objs: [{ obj_path: 'Device.LocalAgent.Subscription.', param_settings: Object.entries({ Enable: 'true', ID: SUB_ID, NotifType: 'ValueChange', ReferenceList: PC, NotifRetry: 'true' }).map(([param, value]) => ({ param, value, required: true })) }] } } }, { msgId: `sub-${++seq}`, timeoutMs: 20_000 });
      expect(m.body.msg_body).toBe('response');
    });

    // The broker stops.
    const stopAt = Date.now();
    await broker.stop();
    expect(await waitConnected(0, 8000)).toBe(0);
    // While it is down, the ACS writes a new ProvisioningCode on every CPE, and the CPEs acknowledge it.
    outage = true;
    const before = acs.sessions.length;
    await inBatches([...Array(CPES).keys()], 20, async (i) => {
      const r = await adminPost(mp, `/admin/cpes/${i}/cr`, {});
      expect([i, r.status]).toEqual([i, 202]);
    });
    const acked = () => acs!.sessions.slice(before).filter((s) => s.messages.some((m) => m.message.method === 'SetParameterValuesResponse')).length;
    await acs.waitFor(() => acked() >= CPES, 60_000, 'every CPE to acknowledge the write made during the outage');
    const writtenMs = Date.now() - stopAt;
    expect(changes.size).toBe(0); // nothing can have arrived: the broker is down
    // The outage lasts at least OUTAGE_MS, longer when the writes took longer on a busy
    // machine (the bound below follows the real length). This wait is the outage itself,
    // not a check that nothing happened.
    await new Promise((r) => setTimeout(r, Math.max(0, stopAt + OUTAGE_MS - Date.now())));

    // The broker is back on the same port, with its sessions. Time runs from the moment it is
    // started, not from when restart() returns: an agent whose retry fires as the port opens
    // may connect, and the controller hear from it, before this process sees the promise settle.
    const backAt = Date.now();
    await broker.restart();
    const nMax = maxFailures(backAt - stopAt, M, F);
    const boundMs = M * F ** (nMax + 1) * 1000 + SLACK_MS;
    let allAt = 0;
    const deadline = backAt + boundMs + PUSH_MS + 5000;
    while (Date.now() < deadline) {
      if ((await connected()) === CPES) {
        allAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    // The ValueChanges made during the outage: wait (bounded) for the last of them.
    const delivered = () => [...agents.values()].filter((a) => (changes.get(a.endpointId) ?? []).some((x) => x.at >= backAt)).length;
    const d0 = Date.now();
    while (delivered() < CPES && Date.now() - d0 < 10_000) await new Promise((r) => setTimeout(r, 100));

    const reconnectAt = [...agents.values()].map((a) => (connects.get(a.endpointId) ?? []).find((t) => t >= backAt) ?? Infinity);
    const lastReconnect = Math.max(...reconnectAt);
    const lastChange = Math.max(...[...changes.values()].flatMap((xs) => xs.filter((x) => x.at >= backAt).map((x) => x.at)));
    process.stdout.write(
      `broker restart: ${CPES} agents, broker down ${((backAt - stopAt) / 1000).toFixed(1)} s (the ACS's writes acknowledged ${(writtenMs / 1000).toFixed(1)} s into it), ConnectRetryTime ${M} s ×${F}: ` +
        `last MQTTConnect Record ${((lastReconnect - backAt) / 1000).toFixed(1)} s after the broker start (bound ${(boundMs / 1000).toFixed(1)} s, n_max ${nMax}); ` +
        `all connected in /metrics ${allAt ? ((allAt - backAt) / 1000).toFixed(1) : 'never'} s after; ` +
        `ValueChanges made during the outage delivered ${delivered()}/${CPES}, the last ${((lastChange - backAt) / 1000).toFixed(1)} s after the broker start\n`,
    );

    expect(allAt).toBeGreaterThan(0);
    expect(allAt - backAt).toBeLessThanOrEqual(boundMs + PUSH_MS);
    for (const [serial, a] of agents) {
      const at = (connects.get(a.endpointId) ?? []).find((t) => t >= backAt);
      expect([serial, at !== undefined && at - backAt <= boundMs]).toEqual([serial, true]);
      // Nothing lost: the value written while the broker was down reached the controller.
      const got = (changes.get(a.endpointId) ?? []).filter((x) => x.at >= backAt).map((x) => x.value);
      expect([serial, got]).toEqual([serial, expect.arrayContaining([`outage-${serial}`])]);
    }
    expect(acked()).toBe(CPES);
  }, 200_000);
});
