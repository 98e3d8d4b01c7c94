// docs/grafana/cpe-sim.json, the Grafana dashboard: its variables, its layout, and every
// panel's PromQL. promtool (Debian package prometheus) checks each query's syntax as a
// recording rule of a generated rules file; the catalog (src/metrics/catalog.ts) says
// whether each metric and label the query names is one cpe-sim exports. Then Prometheus's
// engine (promtool test rules) evaluates the queries on series copied from a real fleet's
// scrape (CWMP against the mock ACS, USP agents on the embedded broker answering a Get).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { createCatalog } from '../src/metrics/catalog.js';
import { exampleProfile, repoRoot } from './helpers/harness.js';
import { findBinary } from './helpers/peers.js';
import { checkQuery, type DashboardRules, type SeriesLabels } from './helpers/promql.js';
import { sample, scrapeUntil } from './helpers/scrape.js';
import { TestController } from './helpers/usp-controller.js';

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  collapsed?: boolean;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  query: string | { query: string };
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  schemaVersion: number;
  title: string;
  uid: string;
  id: number | null;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboardPath = `${repoRoot}docs/grafana/cpe-sim.json`;
const dash = JSON.parse(readFileSync(dashboardPath, 'utf8')) as Dashboard;
const RULES: DashboardRules = { required: { job: '$job', instance: '$instance' }, targetLabels: ['job', 'instance'], aggregation: 'sum' };
/** Grafana's built-in interval variables, as a dashboard over the last hour might fill them. */
const BUILTINS: Record<string, string> = { __rate_interval: '1m', __interval: '1m', __range: '1h', __range_s: '3600', __interval_ms: '60000' };

/** Every panel that is no row: the top level's and those nested in collapsed rows. */
function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

/** `expr` with the dashboard's variables as Prometheus will see them: query variables match anything, or what `picked` says. */
function substitute(expr: string, d: Dashboard, picked: Record<string, string> = {}): string {
  const vars = new Map(d.templating.list.filter((v) => v.type !== 'datasource').map((v) => [v.name, picked[v.name] ?? '.+']));
  return expr.replace(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)/g, (all, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = BUILTINS[name] ?? vars.get(name);
    if (value === undefined) throw new Error(`unknown variable ${all} in ${expr}`);
    return value;
  });
}

/** The catalog's families as the exporter renders them, with their label names and the label values present from the first scrape. */
async function catalogSeries(): Promise<{ series: SeriesLabels; values: Map<string, Map<string, Set<string>>> }> {
  const { registry } = createCatalog();
  const series: SeriesLabels = new Map();
  const values = new Map<string, Map<string, Set<string>>>();
  for (const m of await registry.getMetricsAsJSON()) {
    const labelNames = (registry.getSingleMetric(m.name) as unknown as { labelNames: string[] }).labelNames;
    const names = String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name];
    for (const n of names) {
      series.set(n, new Set(n.endsWith('_bucket') ? [...labelNames, 'le'] : labelNames));
      const byLabel = new Map<string, Set<string>>(labelNames.map((l) => [l, new Set<string>()]));
      for (const v of m.values) for (const l of labelNames) if (v.labels[l] !== undefined) byLabel.get(l)!.add(String(v.labels[l]));
      values.set(n, byLabel);
    }
  }
  return { series, values };
}

function promtool(): string {
  return findBinary('promtool', 'prometheus', '/usr/bin');
}

/** `promtool check rules` on one recording rule per query; its status and output. */
function checkRules(dir: string, rules: Array<{ record: string; expr: string }>): { status: number | null; out: string } {
  const file = join(dir, `dashboard-${rules.length}.rules.yml`);
  writeFileSync(file, stringify({ groups: [{ name: 'cpe-sim-grafana-dashboard', rules }] }));
  const r = spawnSync(promtool(), ['check', 'rules', file], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the Grafana dashboard (docs/grafana/cpe-sim.json)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-grafana-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is an importable dashboard with datasource, job and instance variables', () => {
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dash.id).toBeNull(); // Import assigns its own id
    expect(dash.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dash.title).toBe('cpe-sim');
    const vars = new Map(dash.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const queryOf = (v: Variable | undefined) => (typeof v?.query === 'string' ? v.query : v?.query.query);
    const job = vars.get('job');
    const instance = vars.get('instance');
    for (const v of [job, instance]) {
      expect(v).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: { type: 'prometheus', uid: '${datasource}' } });
      expect(v?.definition).toBe(queryOf(v));
    }
    expect(queryOf(job)).toMatch(/^label_values\(cpe_sim_[a-z_]+, job\)$/);
    expect(queryOf(instance)).toMatch(/^label_values\(cpe_sim_[a-z_]+\{job=~"\$job"\}, instance\)$/);
  });

  it('names in its variable queries only metrics and labels cpe-sim exports', async () => {
    const { series } = await catalogSeries();
    const problems: string[] = [];
    for (const v of dash.templating.list.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /^label_values\(([a-z_:]+)(?:\{([^}]*)\})?,\s*([a-z_]+)\)$/.exec(q);
      if (!m) {
        problems.push(`${v.name}: not label_values(metric{...}, label): ${q}`);
        continue;
      }
      const labels = series.get(m[1]!);
      if (labels === undefined) problems.push(`${v.name}: metric ${m[1]} is not exported`);
      const used = [m[3]!, ...[...(m[2] ?? '').matchAll(/([a-z_]+)\s*[=!]~?/g)].map((x) => x[1]!)];
      for (const l of used) if (labels !== undefined && !labels.has(l) && !RULES.targetLabels.includes(l)) problems.push(`${v.name}: ${m[1]} has no label ${l}`);
    }
    expect(problems).toEqual([]);
  });

  it('has rows of titled panels with unique ids, a unit each, and grid positions that do not overlap', () => {
    const problems: string[] = [];
    const ids = new Set<number>();
    const every = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    for (const p of every) {
      if (ids.has(p.id)) problems.push(`panel id ${p.id} twice`);
      ids.add(p.id);
      if (typeof p.title !== 'string' || p.title.trim() === '') problems.push(`panel ${p.id} has no title`);
      const g = p.gridPos;
      if (!(Number.isInteger(g.x) && Number.isInteger(g.y) && Number.isInteger(g.w) && Number.isInteger(g.h) && g.x >= 0 && g.y >= 0 && g.w >= 1 && g.h >= 1 && g.x + g.w <= 24)) {
        problems.push(`panel ${p.id} (${p.title}) has gridPos ${JSON.stringify(g)} outside the 24-column grid`);
      }
      if (p.type === 'row') {
        if (g.w !== 24 || g.h !== 1 || g.x !== 0) problems.push(`row ${p.id} is not a full-width header`);
        if (!p.collapsed && (p.panels ?? []).length > 0) problems.push(`row ${p.id} is open but holds panels (they would not show)`);
        continue;
      }
      if (p.panels !== undefined) problems.push(`panel ${p.id} is no row but holds panels`);
      if (!p.fieldConfig?.defaults?.unit) problems.push(`panel ${p.id} (${p.title}) has no unit`);
      if (p.datasource?.uid !== '${datasource}') problems.push(`panel ${p.id} does not use the datasource variable`);
      if ((p.targets ?? []).length === 0) problems.push(`panel ${p.id} (${p.title}) has no query`);
      const refIds = new Set<string>();
      for (const t of p.targets ?? []) {
        if (refIds.has(t.refId)) problems.push(`panel ${p.id} has refId ${t.refId} twice`);
        refIds.add(t.refId);
        if (t.datasource?.uid !== '${datasource}') problems.push(`panel ${p.id} target ${t.refId} does not use the datasource variable`);
      }
    }
    // Grids: the top level (row headers and the panels of open rows, as laid out) and each
    // collapsed row's panels, which unfold below its header.
    const overlap = (a: Panel, b: Panel) =>
      a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
    const grids: Panel[][] = [dash.panels, ...dash.panels.filter((p) => p.type === 'row' && p.collapsed).map((r) => r.panels ?? [])];
    for (const grid of grids) {
      for (let i = 0; i < grid.length; i++) for (let j = i + 1; j < grid.length; j++) if (overlap(grid[i]!, grid[j]!)) problems.push(`panels ${grid[i]!.id} and ${grid[j]!.id} overlap`);
    }
    // Each open row's panels sit below its header and above the next header, in order.
    let header: Panel | undefined;
    for (const p of dash.panels) {
      if (p.type === 'row') {
        if (header !== undefined && p.gridPos.y < header.gridPos.y) problems.push(`row ${p.id} above row ${header.id}`);
        header = p;
        for (const c of p.panels ?? []) if (c.gridPos.y <= p.gridPos.y) problems.push(`panel ${c.id} is not below its row ${p.id}`);
      } else if (header === undefined) problems.push(`panel ${p.id} is in no row`);
      else if (p.gridPos.y <= header.gridPos.y) problems.push(`panel ${p.id} is not below its row ${header.id}`);
    }
    expect(problems).toEqual([]);
    expect(dash.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Fleet and CWMP sessions', 'USP agents', 'Process', 'Connection requests, diagnostics, state dir']);
  });

  it('names only metrics and labels cpe-sim exports, each selector filtered by $job and $instance and summed', async () => {
    const { series, values } = await catalogSeries();
    const problems: string[] = [];
    let queries = 0;
    for (const p of allPanels(dash)) {
      for (const t of p.targets ?? []) {
        queries++;
        for (const msg of checkQuery(t.expr, t.legendFormat ?? '', series, values, RULES)) problems.push(`panel ${p.id} (${p.title}) ${t.refId}: ${msg}`);
        if (/rate\(|increase\(/.test(t.expr) && !t.expr.includes('[$__rate_interval]')) problems.push(`panel ${p.id} ${t.refId}: rate()/increase() without [$__rate_interval]`);
      }
    }
    expect(problems).toEqual([]);
    expect(queries).toBeGreaterThanOrEqual(30);
  });

  it('covers what the issue asks: fleet by state, sessions, failures, ACS latency per message, informs, USP, process', () => {
    const exprs = allPanels(dash).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const has = (re: RegExp) => exprs.some((e) => re.test(e));
    expect({
      fleetByState: has(/sum by \(lifecycle_state\) \(cpe_sim_fleet_cpes_by_state\{/),
      sessionsOk: has(/cpe_sim_cwmp_session_duration_seconds_count\{[^}]*\}\[\$__rate_interval\]\)\) - sum\(rate\(cpe_sim_fleet_failed_sessions_total\{/),
      failuresByReason: has(/sum by \(reason\) \(rate\(cpe_sim_cwmp_session_failures_total\{/),
      failuresByStatus: has(/sum by \(http_status\) \(rate\(cpe_sim_cwmp_session_failures_total\{/),
      acsP50: has(/histogram_quantile\(0\.5, sum by \(le, message\) \(rate\(cpe_sim_cwmp_acs_response_seconds_bucket\{/),
      acsP95: has(/histogram_quantile\(0\.95, sum by \(le, message\) \(rate\(cpe_sim_cwmp_acs_response_seconds_bucket\{/),
      acsP99: has(/histogram_quantile\(0\.99, sum by \(le, message\) \(rate\(cpe_sim_cwmp_acs_response_seconds_bucket\{/),
      informsByEvent: has(/sum by \(event_code, result\) \(rate\(cpe_sim_cwmp_informs_total\{/),
      uspRequests: has(/sum by \(msg_type, result\) \(rate\(cpe_sim_usp_requests_total\{/),
      uspRtt: has(/histogram_quantile\(0\.99, sum by \(le, msg_type\) \(rate\(cpe_sim_usp_request_rtt_seconds_bucket\{/),
      uspConnections: has(/sum by \(state\) \(cpe_sim_usp_mqtt_connection_state\{/),
      heap: has(/cpe_sim_process_heap_alloc_bytes\{/),
      rss: has(/cpe_sim_process_resident_memory_bytes\{/),
      lag: has(/cpe_sim_process_event_loop_lag_seconds\{/),
      restarts: has(/cpe_sim_process_shard_restarts_total\{/),
      fds: has(/cpe_sim_process_open_fds\{/),
    }).toEqual({
      fleetByState: true, sessionsOk: true, failuresByReason: true, failuresByStatus: true, acsP50: true, acsP95: true, acsP99: true, informsByEvent: true,
      uspRequests: true, uspRtt: true, uspConnections: true, heap: true, rss: true, lag: true, restarts: true, fds: true,
    });
  });

  it('passes promtool check rules, every query a recording rule', () => {
    const rules = allPanels(dash).flatMap((p) => (p.targets ?? []).map((t) => ({ record: `cpe_sim:grafana:panel_${p.id}_${t.refId}`, expr: substitute(t.expr, dash) })));
    const r = checkRules(dir, rules);
    expect(r).toEqual({ status: 0, out: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) });
  });

  // The checks above must be able to fail: a typo in a metric, a label, a grouping, the
  // syntax, a missing filter or sum is each caught.
  it('catches a typo in a query', async () => {
    const { series, values } = await catalogSeries();
    const good = 'sum by (reason) (rate(cpe_sim_cwmp_session_failures_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))';
    const problems = (expr: string, legend = '{{reason}}') => checkQuery(expr, legend, series, values, RULES);
    expect(problems(good)).toEqual([]);
    expect(problems(good.replace('failures_total', 'failure_total'))).toEqual([expect.stringContaining('metric cpe_sim_cwmp_session_failure_total is not exported')]);
    expect(problems(good.replace('by (reason)', 'by (reasons)'), '{{reasons}}')).toEqual([expect.stringContaining('has no label reasons')]);
    expect(problems(good, '{{http_status}}')).toEqual([expect.stringContaining('legend {{http_status}}')]);
    expect(problems(good.replace('instance=~"$instance"', 'instance=~"$instance", reson="auth"'))).toEqual([expect.stringContaining('has no label reson')]);
    expect(problems(good.replace('instance=~"$instance"', 'instance=~"$instance", reason="atuh"'))).toEqual([expect.stringContaining('never has the value "atuh"')]);
    expect(problems(good.replace(', instance=~"$instance"', ''))).toEqual([expect.stringContaining('not filtered by instance')]);
    expect(problems(good.replace('sum by', 'max by'))).toEqual([expect.stringContaining('not inside a sum(...)')]);
    expect(problems(good.replace('rate(', 'rat('))).toEqual([expect.stringContaining('unknown function rat()')]);
    expect(problems('histogram_quantile(0.95, sum by (le, message) (rate(cpe_sim_cwmp_acs_response_seconds_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))', '{{message}}')).toEqual([]);
    expect(problems('histogram_quantile(0.95, sum by (le, message) (rate(cpe_sim_cwmp_acs_response_seconds{job=~"$job", instance=~"$instance"}[$__rate_interval])))', '{{message}}')).toEqual([
      expect.stringContaining('metric cpe_sim_cwmp_acs_response_seconds is not exported'),
    ]);
    const syntax = checkRules(dir, [{ record: 'cpe_sim:grafana:typo', expr: substitute(good.replace('by (reason) (', 'by (reason) (('), dash) }]);
    expect(syntax.status).not.toBe(0);
    expect(syntax.out).toMatch(/unclosed left parenthesis|unexpected/);
  });
});

/** One sample of a scrape: the series as written (name and raw label pairs), its family's type, its value. */
interface Scraped {
  name: string;
  labels: string[];
  type: string;
  value: number;
}
function parseScrape(text: string): Scraped[] {
  const types = new Map<string, string>();
  const out: Scraped[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unreadable scrape line: ${line}`);
    const family = [...types.keys()].find((f) => m[1] === f || (types.get(f) === 'histogram' && [`${f}_bucket`, `${f}_sum`, `${f}_count`].includes(m[1]!)));
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => `${x[1]}="${x[2]}"`);
    out.push({ name: m[1]!, labels, type: family === undefined ? 'untyped' : types.get(family)!, value: Number(m[3]) });
  }
  return out;
}

// The dashboard's queries evaluated by Prometheus's own engine (promtool test rules) on
// series copied from a real fleet's scrape, as two pods of one job plus a pod of another
// job that the job variable must leave out. Counters rise by their scraped value every
// 30 s, gauges hold it, so each rate over 1m is 2 × value / 60 per pod.
describe('the Grafana dashboard on a real scrape (promtool test rules)', () => {
  const cpes = 6;
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-grafana-live-'));
  let fleet: Fleet | undefined;
  let ctl: TestController | undefined;
  let text = '';
  beforeAll(async () => {
    const cfg = loadConfig({
      flags: {
        profile: exampleProfile, mockAcs: '127.0.0.1:0', uspBroker: 'embedded', uspEmbeddedBind: '127.0.0.1:0', cpes: String(cpes), shards: '1',
        bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', logLevel: 'silent',
      },
      env: {},
    });
    fleet = await startFleet(cfg, createLogger('silent', 'json'));
    const port = fleet.admin!.port;
    const broker = `mqtt://127.0.0.1:${fleet.broker!.port}`;
    await scrapeUntil(port, (t) => sample(t, 'cpe_sim_fleet_bootstraps_total') === cpes && sample(t, `cpe_sim_usp_mqtt_connection_state{broker="${broker}",state="connected"}`) === cpes);
    const endpointId = (await fleet.coordinator.detail(0))!.usp!.endpointId;
    ctl = await TestController.start({ url: fleet.broker!.url, protocolVersion: 4 });
    await ctl.request({ endpointId, topic: `/usp/agent/${endpointId}` }, { request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }, { msgId: 'grafana-get-1' });
    text = await scrapeUntil(port, (t) => sample(t, 'cpe_sim_usp_requests_total{msg_type="GET",result="success"}') === 1 && sample(t, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}') === cpes);
  }, 60_000);
  afterAll(async () => {
    await ctl?.stop();
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the fleet, session, Inform, USP and heap panels the values the scrape holds, summed over the picked pods', () => {
    const samples = parseScrape(text);
    expect(sample(text, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}')).toBe(cpes);
    const pods = [
      { job: 'cpe-sim', instance: 'pod-a:9100' },
      { job: 'cpe-sim', instance: 'pod-b:9100' },
      { job: 'other-sim', instance: 'pod-c:9100' },
    ];
    const cumulative = (s: Scraped) => s.type === 'counter' || s.type === 'histogram';
    const inputSeries = pods.flatMap((pod) =>
      samples.map((s) => ({
        series: `${s.name}{${[...s.labels, `job="${pod.job}"`, `instance="${pod.instance}"`].join(',')}}`,
        values: cumulative(s) ? `0+${s.value}x4` : `${s.value}x4`,
      })),
    );
    const picked = { job: 'cpe-sim', instance: 'pod-a:9100|pod-b:9100' };
    const targets = new Map<string, string>(allPanels(dash).flatMap((p) => (p.targets ?? []).map((t) => [`${p.title}/${t.legendFormat}`, substitute(t.expr, dash, picked)] as const)));
    const expr = (key: string) => {
      const e = targets.get(key);
      if (e === undefined) throw new Error(`no panel target ${key}`);
      return e;
    };
    const v = (series: string) => sample(text, series) ?? NaN;
    const perSecond = (value: number) => 2 * ((2 * value) / 60); // two pods, each 2 × value over 60 s
    const num = (x: number) => x;
    const tests: Array<{ expr: string; eval_time: string; exp_samples: Array<{ labels: string; value: number }> }> = [];
    const at = '2m';
    tests.push({
      expr: expr('CPEs by lifecycle state/{{lifecycle_state}}'),
      eval_time: at,
      exp_samples: ['new', 'bootstrapping', 'ready', 'failed'].map((st) => ({ labels: `{lifecycle_state="${st}"}`, value: num(2 * v(`cpe_sim_fleet_cpes_by_state{lifecycle_state="${st}"}`)) })),
    });
    const sessions = v('cpe_sim_cwmp_session_duration_seconds_count');
    const failed = v('cpe_sim_fleet_failed_sessions_total');
    expect(sessions).toBeGreaterThanOrEqual(cpes);
    tests.push({ expr: expr('CWMP sessions/s (ok, failed)/ok'), eval_time: at, exp_samples: [{ labels: '{}', value: num(perSecond(sessions) - perSecond(failed)) }] });
    tests.push({ expr: expr('CWMP sessions/s (ok, failed)/failed'), eval_time: at, exp_samples: [{ labels: '{}', value: num(perSecond(failed)) }] });
    tests.push({ expr: expr('CWMP sessions/s (ok, failed)/bootstraps accepted'), eval_time: at, exp_samples: [{ labels: '{}', value: num(perSecond(cpes)) }] });
    const informs = samples.filter((s) => s.name === 'cpe_sim_cwmp_informs_total' && s.value > 0);
    expect(informs.map((s) => s.labels.join(','))).toContain('event_code="0 BOOTSTRAP",result="accepted"');
    tests.push({
      expr: expr('Informs/s by event code/{{event_code}} ({{result}})'),
      eval_time: at,
      exp_samples: informs.map((s) => ({ labels: `{${s.labels.join(',')}}`, value: num(perSecond(s.value)) })),
    });
    tests.push({
      expr: expr('USP requests/s by message type/{{msg_type}} ({{result}})'),
      eval_time: at,
      exp_samples: samples.filter((s) => s.name === 'cpe_sim_usp_requests_total' && s.value > 0).map((s) => ({ labels: `{${s.labels.join(',')}}`, value: num(perSecond(s.value)) })),
    });
    tests.push({
      expr: expr('USP MTP connections by state/{{state}}'),
      eval_time: at,
      exp_samples: ['disconnected', 'connecting', 'connected', 'backoff'].map((st) => ({
        labels: `{state="${st}"}`,
        value: num(2 * samples.filter((s) => s.name === 'cpe_sim_usp_mqtt_connection_state' && s.labels.includes(`state="${st}"`)).reduce((a, s) => a + s.value, 0)),
      })),
    });
    for (const [legend, metric] of [['heap', 'cpe_sim_process_heap_alloc_bytes'], ['RSS', 'cpe_sim_process_resident_memory_bytes']] as const) {
      tests.push({
        expr: expr(`Memory per pod/{{instance}} ${legend}`),
        eval_time: at,
        exp_samples: ['pod-a:9100', 'pod-b:9100'].map((instance) => ({ labels: `{instance="${instance}"}`, value: num(v(metric)) })),
      });
    }
    // The ACS latency quantiles: one series per CPE message the fleet sent, none for the others (NaN left out).
    const sent = samples.filter((s) => s.name === 'cpe_sim_cwmp_acs_response_seconds_count' && s.value > 0).length;
    expect(sent).toBeGreaterThanOrEqual(2); // Inform, Empty at least
    for (const legend of ['{{message}} p50', '{{message}} p95', '{{message}} p99']) {
      tests.push({ expr: `count(${expr(`ACS response time percentiles by CPE message/${legend}`)})`, eval_time: at, exp_samples: [{ labels: '{}', value: num(sent) }] });
    }
    // Every other query evaluates without an error (and those without a "> 0" or ">= 0"
    // filter return something, every label value being present at 0 from the first scrape).
    for (const e of targets.values()) {
      const filtered = /(>|>=) 0$/.test(e);
      tests.push({ expr: filtered ? `vector(1) or clamp_max(count(${e}), 1)` : `clamp_max(count(${e}), 1)`, eval_time: at, exp_samples: [{ labels: '{}', value: 1 }] });
    }
    writeFileSync(join(dir, 'empty.rules.yml'), stringify({ groups: [] }));
    const file = join(dir, 'dashboard.test.yml');
    writeFileSync(file, stringify({ rule_files: ['empty.rules.yml'], evaluation_interval: '30s', tests: [{ interval: '30s', input_series: inputSeries, promql_expr_test: tests }] }));
    const r = spawnSync(promtool(), ['test', 'rules', file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
    expect(tests.length).toBeGreaterThan(targets.size);
  });
});
