// USP metrics through real worker threads: a dual-stack fleet (mock ACS + the embedded
// broker) on two shards with the metrics listener; the shards push every 2 s and the
// scrape shows the agents' MQTT states per broker, every USP msg_type pre-registered, and
// a Get answered by agent 0 counted once. promtool checks the live scrape.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sample, scrape, scrapeUntil as scrapeUntilOn } from './helpers/scrape.js';
import { findBinary } from './helpers/peers.js';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { USP_MSG_TYPES, USP_RESULTS } from '../src/metrics/catalog.js';
import { exampleProfile } from './helpers/harness.js';
import { TestController } from './helpers/usp-controller.js';


describe('USP metrics on a live scrape (worker threads, embedded broker)', () => {
  const cpes = 10;
  let fleet: Fleet | undefined;
  let ctl: TestController | undefined;
  let port = 0;
  let brokerLabel = '';

  const scrapeUntil = (pred: (text: string) => boolean) => scrapeUntilOn(port, pred);

  beforeAll(async () => {
    const cfg = loadConfig({
      flags: {
        profile: exampleProfile,
        mockAcs: '127.0.0.1:0',
        uspBroker: 'embedded',
        uspEmbeddedBind: '127.0.0.1:0',
        cpes: String(cpes),
        shards: '2',
        bootRamp: '0',
        crBindAddr: '127.0.0.1:0',
        metricsBindAddr: '127.0.0.1:0',
        logLevel: 'silent',
      },
      env: {},
    });
    fleet = await startFleet(cfg, createLogger('silent', 'json'));
    port = fleet.admin!.port;
    brokerLabel = `mqtt://127.0.0.1:${fleet.broker!.port}`;
  });
  afterAll(async () => {
    await ctl?.stop();
    await fleet?.stop();
  });

  it('runs the embedded broker on the free port it was given, with the agents on it', () => {
    expect(fleet!.coordinator.shardCount).toBe(2);
    expect(fleet!.broker!.port).toBeGreaterThan(0);
    expect(fleet!.uspBrokerUrl).toBe(brokerLabel);
    expect(port).toBeGreaterThan(0);
  });

  it('shows every agent connected in cpe_sim_usp_mqtt_connection_state for the broker', async () => {
    const connected = `cpe_sim_usp_mqtt_connection_state{broker="${brokerLabel}",state="connected"}`;
    const text = await scrapeUntil((t) => sample(t, connected) === cpes);
    expect(sample(text, connected)).toBe(cpes);
    for (const state of ['disconnected', 'connecting', 'backoff']) {
      expect(sample(text, `cpe_sim_usp_mqtt_connection_state{broker="${brokerLabel}",state="${state}"}`)).toBe(0);
    }
  });

  it('pre-registers every USP msg_type and result in cpe_sim_usp_requests_total', async () => {
    const text = await scrape(port);
    for (const t of USP_MSG_TYPES) {
      for (const res of USP_RESULTS) {
        expect({ t, res, v: sample(text, `cpe_sim_usp_requests_total{msg_type="${t}",result="${res}"}`) }).toEqual({ t, res, v: expect.any(Number) });
      }
    }
    expect(sample(text, 'cpe_sim_usp_requests_total{msg_type="GET",result="success"}')).toBe(0);
  });

  it('promtool check metrics passes on the scrape', async () => {
    const text = await scrape(port);
    expect(text).toContain('cpe_sim_usp_mqtt_connection_state');
    const r = spawnSync(findBinary('promtool', 'prometheus', '/usr/bin'), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
  });

  it('counts a Get answered by agent 0 in a later scrape', async () => {
    const detail = await fleet!.coordinator.detail(0);
    const endpointId = detail!.usp!.endpointId;
    expect(endpointId).toMatch(/^os::0C5A9E-/);
    ctl = await TestController.start({ url: fleet!.broker!.url, protocolVersion: 4 });
    const m = await ctl.request({ endpointId, topic: `/usp/agent/${endpointId}` }, { request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }, { msgId: 'metrics-get-1' });
    expect(m.header.msg_type).toBe('GET_RESP');
    const series = 'cpe_sim_usp_requests_total{msg_type="GET",result="success"}';
    const text = await scrapeUntil((t) => sample(t, series) === 1);
    expect(sample(text, series)).toBe(1);
    expect(sample(text, 'cpe_sim_usp_requests_total{msg_type="GET",result="error"}')).toBe(0);
    expect(text).toMatch(/cpe_sim_usp_request_rtt_seconds_count\{msg_type="GET"\} 1\n/);
  });

  it('shows the agent in GET /admin/cpes/{id}', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/admin/cpes/0`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usp?: { endpoint_id: string; mqtt_state: string }; usp_subscriptions: unknown[] };
    expect(body.usp).toEqual({ endpoint_id: (await fleet!.coordinator.detail(0))!.usp!.endpointId, mqtt_state: 'connected' });
    expect(body.usp_subscriptions).toEqual([]);
  });
});
