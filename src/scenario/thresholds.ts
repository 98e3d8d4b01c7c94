// k6-style thresholds (docs/scenarios.md "Thresholds"): `metric{tag:value,...}: [conditions]`
// parsed against the fixed table of what a run measures, and evaluated on a MetricSource.
import type { LogHistogram } from '../util/loghist.js';
import { at, durationMs, type Fail, isMap, shown } from './check.js';
import type { Threshold } from './model.js';
import type { MetricSource } from './summary.js';

/**
 * How a metric is measured, hence which stats a threshold may ask of it: a trend is a
 * latency distribution (ms), a rate a share of hits in a total, a count a number of
 * things, a series the per-second values of a rate over the period.
 */
export type MetricKind = 'trend' | 'rate' | 'count' | 'series';

export interface MetricDef {
  name: string;
  /** One metric can be read two ways (session_failed: a rate and a count). */
  kinds: readonly MetricKind[];
  /** Tags it can be filtered by, besides `stage`. */
  tags: readonly string[];
  describe: string;
}

/** Every metric a threshold can name. The runner's MetricSource answers for each. */
export const METRICS: readonly MetricDef[] = [
  { name: 'acs_response_ms', kinds: ['trend'], tags: ['message'], describe: 'Time from sending a CWMP message (Inform, Empty, a response to an ACS request, ...) to the ACS\'s HTTP reply (any status), in ms; an exchange with no reply (a timeout, a cut) is a failed session instead; `message` is the CPE message\'s name' },
  { name: 'session_ms', kinds: ['trend'], tags: [], describe: 'Duration of a CWMP session, from connecting to the ACS to the session\'s end, in ms, successful or not' },
  { name: 'ready_ms', kinds: ['trend'], tags: [], describe: 'From a CPE powering on (boot, or back from a power cut, reboot or reset) to the end of its first successful session, in ms' },
  { name: 'usp_rtt_ms', kinds: ['trend'], tags: ['msg_type'], describe: 'Time an agent takes to answer a USP request, in ms; `msg_type` is the request\'s TR-369 Msg type (GET, SET, OPERATE, ...)' },
  { name: 'session_success', kinds: ['rate'], tags: [], describe: 'Share of CWMP sessions that ended successfully' },
  { name: 'session_failed', kinds: ['rate', 'count'], tags: ['reason', 'status'], describe: 'CWMP sessions that failed: as a share of all sessions (rate) or a number (count); `reason` is why it failed (connect, timeout, auth, http-status, no-inform-response, acs-fault, malformed, protocol, io, redirect, too-long, too-large; under fleet events also reset, stall, link-down, power-off; stopped: cut when --stop-grace ran out; descriptors when the process is out of file descriptors), `status` the HTTP status the ACS answered' },
  { name: 'usp_success', kinds: ['rate'], tags: [], describe: 'Share of USP requests answered with a response rather than an Error' },
  { name: 'sessions', kinds: ['count'], tags: [], describe: 'CWMP sessions that ended, successful or not' },
  { name: 'retry_after_honored', kinds: ['count'], tags: [], describe: 'Sessions retried at the time an ACS\'s 503 Retry-After asked for' },
  { name: 'sessions_per_sec', kinds: ['series'], tags: [], describe: 'CWMP sessions ended per second, one value per second of the period' },
];

/**
 * Why a CWMP session fails, as the CPEs count it (the cpe_sim_cwmp_session_failures_total
 * reasons; a test keeps the two lists equal).
 */
export const SESSION_FAIL_REASONS = ['connect', 'timeout', 'auth', 'http-status', 'no-inform-response', 'acs-fault', 'malformed', 'protocol', 'io', 'redirect', 'too-long', 'too-large', 'reset', 'stall', 'link-down', 'power-off', 'stopped', 'descriptors'] as const;

/** Tag values checked before the run, so a typo cannot make a threshold that always holds. */
const TAG_VALUES: Record<string, { test: (v: string) => boolean; expected: string }> = {
  reason: { test: (v) => (SESSION_FAIL_REASONS as readonly string[]).includes(v), expected: `one of ${SESSION_FAIL_REASONS.join(', ')}` },
  status: { test: (v) => /^[1-5]\d\d$/.test(v), expected: 'an HTTP status code (100-599), e.g. 503' },
};

/** The stats each kind allows (`p(N)`: any percentile, 0 < N <= 100). */
export const STATS: Readonly<Record<MetricKind, readonly string[]>> = {
  trend: ['avg', 'min', 'max', 'med', 'p(N)'],
  rate: ['rate'],
  count: ['count'],
  series: ['avg', 'min', 'max', 'med', 'p(N)'],
};

const byName = new Map(METRICS.map((m) => [m.name, m]));

/** Which way `stat` reads `def`, or undefined when the metric has no such stat. */
function kindFor(def: MetricDef, stat: string): MetricKind | undefined {
  const generic = stat.startsWith('p(') ? 'p(N)' : stat;
  return def.kinds.find((k) => STATS[k].includes(generic));
}

/** The kind a parsed threshold reads its metric as. */
export function kindOf(th: Threshold): MetricKind {
  const def = byName.get(th.metric);
  const k = def && kindFor(def, th.stat);
  if (!k) throw new Error(`threshold ${th.source}: no metric ${th.metric} with stat ${th.stat}`);
  return k;
}

/** The stage a threshold is scoped to (its `stage` tag), or undefined for the whole run. */
export function stageOf(th: Threshold): string | undefined {
  return th.tags['stage'];
}

/** Its tags without `stage`: what the MetricSource of the chosen period is asked for. */
export function sourceTags(th: Threshold): Record<string, string> {
  const { stage: _stage, ...rest } = th.tags;
  return rest;
}

const COND_FORM = '"<stat> <op> <value>", e.g. "p(95) < 500", "rate >= 0.99" or "count == 0"';

/** `metric` or `metric{tag:value,...}` */
function parseKey(key: string, path: string, stages: readonly string[], fail: Fail): { def: MetricDef; tags: Record<string, string> } {
  const m = /^\s*([A-Za-z_][\w]*)\s*(?:\{(.*)\})?\s*$/.exec(key);
  if (!m) fail(path, 'expected a metric name with optional tags, "metric" or "metric{tag:value,...}"');
  const def = byName.get(m[1]!);
  if (!def) fail(path, `unknown metric "${m[1]}"; expected one of ${METRICS.map((d) => d.name).join(', ')}`);
  const tags: Record<string, string> = {};
  if (m[2] !== undefined) {
    const allowed = [...def.tags, 'stage'];
    for (const part of m[2].split(',')) {
      const t = /^\s*([A-Za-z_]\w*)\s*:\s*([^,:{}]*?)\s*$/.exec(part);
      if (!t || t[2] === '') fail(path, `expected tags as "tag:value" pairs separated by commas, got ${shown(part.trim())}`);
      const [, name, value] = t;
      if (!allowed.includes(name!)) fail(path, `${def.name} has no tag "${name}"; its tags are ${allowed.join(', ')}`);
      if (tags[name!] !== undefined) fail(path, `tag "${name}" given twice`);
      if (name === 'stage' && !stages.includes(value!)) fail(path, `stage:${value} names no stage of the scenario; its stages are ${stages.join(', ')}`);
      const values = TAG_VALUES[name!];
      if (values && !values.test(value!)) fail(path, `${name}:${value} is not a ${name}; expected ${values.expected}`);
      tags[name!] = value!;
    }
  }
  return { def, tags };
}

/** One condition, checked against its metric. */
function parseCondition(text: unknown, def: MetricDef, path: string, fail: Fail): Pick<Threshold, 'stat' | 'op' | 'value'> {
  if (typeof text !== 'string') fail(path, `expected a condition ${COND_FORM}, got ${shown(text)}`);
  const m = /^\s*(avg|min|max|med|rate|count|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(===|==|!=|<=|>=|<|>)\s*(\S+)\s*$/.exec(text);
  if (!m) fail(path, `expected a condition ${COND_FORM}, got ${shown(text)}`);
  let stat = m[1]!;
  if (m[2] !== undefined) {
    const n = Number(m[2]);
    if (!(n > 0 && n <= 100)) fail(path, `expected a percentile p(N) with 0 < N <= 100, got ${shown(stat)}`);
    stat = `p(${n})`;
  }
  const kind = kindFor(def, stat);
  if (!kind) {
    const allowed = [...new Set(def.kinds.flatMap((k) => STATS[k]))];
    fail(path, `${def.name} has no stat "${stat}"; expected ${allowed.join(', ')}`);
  }
  const op = (m[3] === '===' ? '==' : m[3]) as Threshold['op'];
  const raw = m[4]!;
  let value: number | undefined;
  if (kind === 'trend') {
    // Latencies: plain numbers are ms, or a duration with its unit.
    if (/^\d+(\.\d+)?$/.test(raw)) value = Number(raw);
    else {
      value = durationMs(raw, 'none');
    }
    if (value === undefined) fail(path, `expected a latency in ms ("500", "500ms", "2s"), got ${shown(raw)}`);
  } else if (kind === 'rate') {
    value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : undefined;
    if (value === undefined || value > 1) fail(path, `expected a rate from 0 to 1 (e.g. 0.99), got ${shown(raw)}`);
  } else if (kind === 'count') {
    value = /^\d+$/.test(raw) ? Number(raw) : undefined;
    if (value === undefined) fail(path, `expected a count (an integer >= 0), got ${shown(raw)}`);
  } else {
    value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : undefined;
    if (value === undefined) fail(path, `expected a number per second (e.g. 250), got ${shown(raw)}`);
  }
  return { stat, op, value };
}

/**
 * The `thresholds:` map: `metric{tags}` keys, each a list of conditions, a condition either
 * a string or `{ threshold: string, abortOnFail: boolean }`. `stages` are the scenario's
 * stage names (a `stage` tag must name one); `path` is where the map sits (`thresholds`).
 */
export function parseThresholds(raw: unknown, stages: readonly string[], path: string, fail: Fail): Threshold[] {
  if (raw === undefined || raw === null) return [];
  if (!isMap(raw)) fail(path, `expected a map of "metric{tags}": [conditions], got ${shown(raw)}`);
  const out: Threshold[] = [];
  for (const [key, conds] of Object.entries(raw)) {
    const kp = at(path, key);
    const { def, tags } = parseKey(key, kp, stages, fail);
    if (!Array.isArray(conds) || conds.length === 0) fail(kp, `expected a non-empty list of conditions, e.g. ['p(95) < 500'], got ${shown(conds)}`);
    conds.forEach((c, i) => {
      const cp = `${kp}[${i}]`;
      let text: unknown = c;
      let abortOnFail = false;
      if (isMap(c)) {
        for (const k of Object.keys(c)) {
          if (k !== 'threshold' && k !== 'abortOnFail') fail(at(cp, k), 'unknown key; the keys here are threshold, abortOnFail');
        }
        text = c['threshold'];
        if (text === undefined) fail(at(cp, 'threshold'), `missing: expected a condition ${COND_FORM}`);
        if (c['abortOnFail'] !== undefined && typeof c['abortOnFail'] !== 'boolean') fail(at(cp, 'abortOnFail'), `expected true or false, got ${shown(c['abortOnFail'])}`);
        abortOnFail = c['abortOnFail'] === true;
      }
      const cond = parseCondition(text, def, isMap(c) ? at(cp, 'threshold') : cp, fail);
      out.push({ source: `${key}: ${(text as string).trim()}`, metric: def.name, tags, ...cond, abortOnFail });
    });
  }
  return out;
}

function compare(a: number, op: Threshold['op'], b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

const pct = (stat: string): number | undefined => (stat.startsWith('p(') ? Number(stat.slice(2, -1)) / 100 : stat === 'med' ? 0.5 : undefined);

function fromTrend(h: LogHistogram, stat: string): number {
  const q = pct(stat);
  if (q !== undefined) return h.quantile(q);
  return stat === 'avg' ? h.mean : stat === 'min' ? h.min : h.max;
}

function fromSeries(values: readonly number[], stat: string): number {
  const sorted = [...values].sort((a, b) => a - b);
  const q = pct(stat);
  if (q !== undefined) return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
  if (stat === 'avg') return sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return stat === 'min' ? sorted[0]! : sorted[sorted.length - 1]!;
}

/**
 * Evaluate one threshold on a period's measurements (the caller picks the period: the
 * stage named by its `stage` tag, or the whole run; the source is asked without `stage`).
 * Nothing measured (an empty histogram or series, a rate over no events, an unknown
 * metric) gives value null, which fails; a count of 0 is a measurement.
 */
export function evaluate(th: Threshold, source: MetricSource): { value: number | null; ok: boolean } {
  const tags = sourceTags(th);
  let value: number | null = null;
  switch (kindOf(th)) {
    case 'trend': {
      const h = source.trend(th.metric, tags);
      if (h && h.count > 0) value = fromTrend(h, th.stat);
      break;
    }
    case 'rate': {
      const r = source.rate(th.metric, tags);
      if (r && r[1] > 0) value = r[0] / r[1];
      break;
    }
    case 'count': {
      const c = source.count(th.metric, tags);
      if (c !== undefined) value = c;
      break;
    }
    case 'series': {
      const s = source.series(th.metric, tags);
      if (s && s.length > 0) value = fromSeries(s, th.stat);
      break;
    }
  }
  if (value === null || Number.isNaN(value)) return { value: null, ok: false };
  return { value, ok: compare(value, th.op, th.value) };
}
