import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import type { AcsOutgoingRequest } from '../src/cwmp/types.js';
import { createLogger } from '../src/log.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { exampleProfile } from './helpers/harness.js';

function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

const cpes = 6;
const offset = 100;
let fleet: Fleet;
let acs: MockAcs;
let port: number;
const queued: AcsOutgoingRequest[] = [];

beforeAll(async () => {
  acs = new MockAcs({ script: () => queued.splice(0) });
  await acs.listen();
  const cfg = loadConfig({
    flags: { profile: exampleProfile, acsUrl: acs.url, cpes: String(cpes), fleetOffset: String(offset), shards: '2', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', logLevel: 'silent' },
    env: {},
  });
  fleet = await startFleet(cfg, createLogger('silent', 'json'));
  port = fleet.admin!.port;
  await acs.waitFor(() => acs.sessions.filter((s) => s.ended).length >= cpes, 15_000, 'bootstraps');
});

afterAll(async () => {
  await fleet?.stop();
  await acs.close();
});

describe('POST /admin/events', () => {
  const post = (body: string) => http(port, 'POST', '/admin/events', { 'content-type': 'application/json' }, body);

  it('applies a power cut to the subset now (202 with how many it reached); the CPEs go dark and boot back with 1 BOOT', async () => {
    const before = acs.sessions.length;
    const r = await post(JSON.stringify({ powerCut: { target: { from: offset, to: offset + 2 }, duration: '1s' } }));
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ kind: 'powerCut', reached: 2 });
    const d = JSON.parse((await http(port, 'GET', `/admin/cpes/${offset}`)).body) as { lifecycle_state: string };
    expect(d.lifecycle_state).toBe('bootstrapping');
    expect((await http(port, 'POST', `/admin/cpes/${offset}/cr`)).status).toBe(409);
    await acs.waitFor(() => acs.sessions.slice(before).filter((s) => s.ended).length >= 2, 15_000, 'two boots after the cut');
    const back = acs.sessions.slice(before).map((s) => ({ serial: s.inform.deviceId.serialNumber, events: s.inform.events.map((e) => e.code) }));
    expect(back.map((b) => b.events)).toEqual([['1 BOOT'], ['1 BOOT']]);
  });

  it('answers 400 naming the bad field, a body that is not JSON and a range outside the fleet, and applies nothing', async () => {
    const bad = async (body: string, msg: string | RegExp) => {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.type).toContain('application/json');
      expect((JSON.parse(r.body) as { error: string }).error).toMatch(msg);
    };
    await bad(JSON.stringify({ powerCut: { target: {}, duration: 'abc' } }), /^powerCut\.duration: expected a duration/);
    await bad(JSON.stringify({ powerCutt: { duration: '1s' } }), /powerCutt/);
    await bad(JSON.stringify({ linkFault: { target: { fraction: 2 }, duration: '5s', down: true } }), /^linkFault\.target\.fraction: /);
    await bad('{"reboot": ', /not JSON/);
    await bad(JSON.stringify({ reboot: { target: { from: 0, to: 5 }, ramp: 0 } }), /reboot\.target: the range \[0, 5\) is outside the fleet's CPEs \[100, 106\)/);
    expect((await http(port, 'GET', '/admin/events')).status).toBe(405);
  });
});

describe('admin API over real HTTP', () => {
  it('lists CPEs a page at a time, by state', async () => {
    for (let i = 0; i < 50; i++) {
      const all = JSON.parse((await http(port, 'GET', '/admin/cpes?state=ready')).body) as { items: unknown[] };
      if (all.items.length === cpes) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const page = await http(port, 'GET', '/admin/cpes?limit=2&offset=3');
    expect(page.status).toBe(200);
    expect(page.type).toContain('application/json');
    const body = JSON.parse(page.body) as { items: Array<{ id: number; serial: string; lifecycle_state: string; last_event: string; last_event_at: string }> };
    expect(body.items.map((c) => c.id)).toEqual([offset + 3, offset + 4]);
    expect(body.items[0]).toMatchObject({ lifecycle_state: 'ready', last_event: expect.stringMatching(/BOOTSTRAP|BOOT/) });
    expect(Date.parse(body.items[0]!.last_event_at)).toBeGreaterThan(0);
    const ready = JSON.parse((await http(port, 'GET', '/admin/cpes?state=ready&limit=1000')).body) as { items: unknown[] };
    expect(ready.items).toHaveLength(cpes);
    expect(JSON.parse((await http(port, 'GET', '/admin/cpes?state=failed')).body)).toMatchObject({ items: [] });
  });

  it('shows one CPE with its recent events and a sample of leaves', async () => {
    const r = await http(port, 'GET', `/admin/cpes/${offset + 5}`);
    expect(r.status).toBe(200);
    const d = JSON.parse(r.body) as { recent_events: Array<{ code: string }>; leaves: Array<{ name: string }>; usp_subscriptions: unknown[] };
    expect(d.recent_events.map((e) => e.code)).toEqual(expect.arrayContaining(['0 BOOTSTRAP', '1 BOOT']));
    expect(d.leaves.map((l) => l.name)).toContain('Device.DeviceInfo.SoftwareVersion');
    expect(d.usp_subscriptions).toEqual([]);
  });

  it('POST /cr makes the CPE open a session carrying 6 CONNECTION REQUEST', async () => {
    const before = acs.sessions.length;
    const r = await http(port, 'POST', `/admin/cpes/${offset}/cr`);
    expect(r.status).toBe(202);
    const body = JSON.parse(r.body) as { cr_url: string; invoked_at: string };
    expect(body.cr_url).toMatch(/\/cr\/100\/[0-9a-f]{24}$/);
    await acs.waitFor(() => acs.sessions.length > before && acs.sessions.at(-1)!.ended, 10_000, 'CR session');
    expect(acs.sessions.at(-1)!.inform.events.map((e) => e.code)).toEqual(['6 CONNECTION REQUEST']);
  });

  it('POST /fault/{code} makes the next ACS request get that fault, counted in rpc_faults_total', async () => {
    expect((await http(port, 'POST', `/admin/cpes/${offset + 1}/fault/9002`)).status).toBe(202);
    queued.push({ method: 'GetParameterValues', names: ['Device.DeviceInfo.UpTime'] });
    const before = acs.sessions.length;
    expect((await http(port, 'POST', `/admin/cpes/${offset + 1}/cr`)).status).toBe(202);
    await acs.waitFor(() => acs.sessions.length > before && acs.sessions.at(-1)!.ended, 10_000, 'faulted session');
    const answer = acs.sessions.at(-1)!.messages.at(-1)!.message;
    expect(answer).toMatchObject({ method: 'Fault', fault: { code: 9002 } });
    let metrics = '';
    const settled = (m: string) => /cpe_sim_rpc_faults_total\{protocol="cwmp",code="9002"\} 1/.test(m) && m.includes(`cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"} ${cpes}`);
    // Shards push every 2 s: wait for both pushes to catch up.
    for (let i = 0; i < 80 && !settled(metrics); i++) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = (await http(port, 'GET', '/metrics')).body;
    }
    expect(metrics).toMatch(/cpe_sim_rpc_faults_total\{protocol="cwmp",code="9002"\} 1/);
    expect(metrics).toMatch(new RegExp(`cpe_sim_fleet_cpes_by_state\\{lifecycle_state="ready"\\} ${cpes}`));
    expect(metrics).toMatch(new RegExp(`cpe_sim_fleet_bootstraps_total ${cpes}`));
  });

  it('merges the shards\' counters and histograms: informs and bootstraps match what the ACS saw', async () => {
    const seen = () => acs.sessions.filter((x) => x.inform.events.some((e) => e.code === '0 BOOTSTRAP')).length;
    let text = '';
    for (let i = 0; i < 60; i++) {
      text = (await http(port, 'GET', '/metrics')).body;
      if (text.includes(`cpe_sim_cwmp_informs_total{event_code="0 BOOTSTRAP",result="accepted"} ${seen()}`)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toContain(`cpe_sim_cwmp_informs_total{event_code="0 BOOTSTRAP",result="accepted"} ${seen()}`);
    expect(text).toContain(`cpe_sim_fleet_bootstraps_total ${seen()}`);
    // Label values known up front are there at 0.
    expect(text).toContain('cpe_sim_cwmp_informs_total{event_code="13 WAKEUP",result="failed"} 0');
    expect(text).toContain('cpe_sim_usp_requests_total{msg_type="GET",result="success"} 0');
    const count = (name: string) => Number(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? -1);
    expect(count('cpe_sim_cwmp_session_duration_seconds')).toBeGreaterThanOrEqual(cpes);
    expect(count('cpe_sim_process_gc_pause_seconds')).toBeGreaterThan(0);
    expect(Number(/cpe_sim_cwmp_acs_response_seconds_count\{message="Inform"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(cpes);
    expect(text).toMatch(/cpe_sim_process_open_fds\{os="linux"\} \d+/);
    expect(text).toMatch(/cpe_sim_process_worker_threads 2/);
  });

  it('answers errors with the right status and a JSON body', async () => {
    const cases: Array<[string, string, number]> = [
      ['GET', `/admin/cpes/${offset + cpes}`, 404],
      ['GET', '/admin/cpes/abc', 404],
      ['POST', `/admin/cpes/${offset}/fault/8000`, 400],
      ['POST', `/admin/cpes/${offset}/fault/x`, 400],
      ['POST', `/admin/cpes/${offset + cpes}/fault/9001`, 404],
      ['POST', `/admin/cpes/${offset + cpes}/cr`, 404],
      ['GET', `/admin/cpes/${offset}/cr`, 405],
      ['DELETE', '/admin/cpes', 405],
      ['POST', '/metrics', 405],
      ['GET', '/admin/cpes?state=sleepy', 400],
      ['GET', '/admin/cpes?limit=5000', 400],
      ['GET', '/admin/nothing', 404],
    ];
    for (const [method, path, status] of cases) {
      const r = await http(port, method, path);
      expect([method, path, r.status]).toEqual([method, path, status]);
      expect(JSON.parse(r.body)).toHaveProperty('error');
    }
    const m = await http(port, 'GET', '/metrics');
    expect(m.body).toMatch(/cpe_sim_admin_requests_total\{route="\/admin\/cpes\/\{id\}",code="404"\} \d+/);
  });

  it('requires the bearer token on /admin/* when one is set, not on /metrics', async () => {
    const { AdminServer } = await import('../src/http/admin-server.js');
    const { ThreadMetrics } = await import('../src/metrics/thread-metrics.js');
    const { MetricsHub } = await import('../src/metrics/hub.js');
    const m = new ThreadMetrics();
    const guarded = new AdminServer(fleet.coordinator, new MetricsHub(m, () => 0), m.catalog, 's3cret');
    const p = await guarded.listen('127.0.0.1', 0);
    try {
      expect((await http(p, 'GET', '/admin/cpes')).status).toBe(401);
      expect((await http(p, 'GET', '/admin/cpes', { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await http(p, 'GET', '/admin/cpes', { authorization: 'Bearer s3cret' })).status).toBe(200);
      expect((await http(p, 'GET', '/metrics')).status).toBe(200);
    } finally {
      guarded.close();
      m.close();
    }
  });
});

/** Write the request bytes by hand on a raw socket; the response: its head, and Content-Length bytes of body unless HEAD. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no whole response within 10 s; got ${JSON.stringify(got)}`));
    }, 10_000);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(got.slice(0, end))?.[1] ?? 0);
      // After a HEAD nothing more may come; uWS writes a response in one go, so anything it added would be here by now.
      if (bytes.startsWith('HEAD ')) setImmediate(() => setImmediate(done));
      else if (got.length - end - 4 >= len) done();
    });
    s.on('error', reject);
    s.write(bytes);
  });
}

const headersOf = (raw: string) => {
  const [head, body] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)];
  const [status, ...lines] = head.split('\r\n');
  const h = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  delete h['date'];
  return { status, headers: h, body };
};

describe('HEAD on the metrics/admin listener (RFC 9110 9.3.2)', () => {
  it.each(['/metrics', '/admin/stats', '/admin/nowhere', '/live'])('HEAD %s: the status and headers of GET, no body', async (path) => {
    // GET /live is a stream that never ends; its HEAD is checked against what stream() writes.
    const get = path === '/live' ? undefined : headersOf(await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    const head = headersOf(await rawExchange(port, `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    expect(head.body).toBe('');
    if (get) {
      expect(head.status).toBe(get.status);
      expect(Object.keys(head.headers).sort()).toEqual(Object.keys(get.headers).sort());
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      if (path !== '/metrics') expect(head.headers['content-length']).toBe(get.headers['content-length']);
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    } else {
      expect(head.status).toBe('HTTP/1.1 200 OK');
      expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    }
  });
});
