// Proof by killing, over USP (docs/persistence.md): the real CLI with --state-dir and USP
// agents on a broker the test runs (aedes). A controller keeps each agent busy with Sets of
// Device.WiFi.SSID.1.SSID (one at a time per agent, a new value each); the process is
// SIGKILLed mid-storm and started again with the same state dir. Every Set the controller
// saw answered with a SetResp is there when it reads the value back with a Get.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded.js';
import { spawnCli } from './helpers/cli.js';
import { exampleProfile, until } from './helpers/harness.js';
import { TestController, type AgentAddress } from './helpers/usp-controller.js';

let broker: EmbeddedBroker | undefined;
let ctl: TestController | undefined;
let dir: string | undefined;
const children: Array<ReturnType<typeof spawnCli>> = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await ctl?.stop();
  ctl = undefined;
  await broker?.close();
  broker = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const CPES = 20;
const args = (url: string, stateDir: string) => [
  '--usp-broker', url, '--usp-mqtt-version', '3.1.1', '--profile', exampleProfile, '--cpes', String(CPES), '--shards', '2', '--boot-ramp', '0',
  '--state-dir', stateDir, '--cr-bind-addr', '127.0.0.1:0', '--duration', '300', '--log-level', 'warn',
];
const agentOf = (id: string): AgentAddress => ({ endpointId: id, topic: `/usp/agent/${id}` });
const ssid = (value: string) => ({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.WiFi.SSID.1.', param_settings: [{ param: 'SSID', value, required: true }] }] } } });

describe('USP writes survive a SIGKILL in the middle of a write storm (--state-dir)', () => {
  it('every Set the controller saw answered is there after the restart', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpe-sim-state-usp-'));
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    ctl = await TestController.start({ url: broker.url, protocolVersion: 4 });
    const c = ctl;
    const connects = (from: number) => new Set(c.received.slice(from).filter((x) => x.record.record_type === 'mqtt_connect').map((x) => x.record.from_id));
    const first = spawnCli(args(broker.url, dir), 120_000);
    children.push(first);
    await until(() => connects(0).size === CPES, 60_000, 'every agent to connect');
    const ids = [...connects(0)];

    // The storm: each agent gets Set after Set; an answered one is acknowledged.
    const acked = new Map<string, number>();
    const sent = new Map<string, number>();
    let storming = true;
    let answered = 0;
    const storms = ids.map(async (id) => {
      for (let n = 0; storming; n++) {
        sent.set(id, n);
        const m = await c.request(agentOf(id), ssid(`v${n}`), { timeoutMs: 5000 }).catch(() => undefined);
        if (!storming) return;
        if (m?.body.msg_body !== 'response') return;
        acked.set(id, n);
        answered++;
      }
    });
    await until(() => answered >= 10 * CPES, 60_000, 'the Set storm');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const ackedAtKill = new Map(acked);
    const sentAtKill = new Map(sent);
    storming = false;
    await Promise.all(storms);
    expect(ackedAtKill.size).toBe(CPES);

    const mark = c.received.length;
    const second = spawnCli(args(broker.url, dir), 120_000);
    children.push(second);
    await until(() => connects(mark).size === CPES, 60_000, 'every agent to connect again');
    for (const id of ids) {
      const m = await c.request(agentOf(id), { request: { get: { param_paths: ['Device.WiFi.SSID.1.SSID'] } } });
      if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'get_resp') throw new Error(`no GetResp from ${id}`);
      const v = m.body.response.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params['SSID']!;
      const n = Number(v.slice(1));
      // The last Set answered, or a later one whose answer the kill cut.
      expect(n).toBeGreaterThanOrEqual(ackedAtKill.get(id)!);
      expect(n).toBeLessThanOrEqual(sentAtKill.get(id)!);
    }
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }, 180_000);
});
