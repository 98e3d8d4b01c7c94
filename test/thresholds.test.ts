// k6-style thresholds (src/scenario/thresholds.ts, docs/scenarios.md "Thresholds"): parsed
// against the metric table with the precise refusal, and evaluated on a MetricSource built
// here over LogHistograms and counts with known values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { Threshold } from '../src/scenario/model.js';
import { parseScenario, STAGE_ACTIONS } from '../src/scenario/parse.js';
import type { MetricSource } from '../src/scenario/summary.js';
import { evaluate, kindOf, METRICS, sourceTags, stageOf, STATS } from '../src/scenario/thresholds.js';
import { ScenarioError } from '../src/util/errors.js';
import { LogHistogram } from '../src/util/loghist.js';
import { repoRoot } from './helpers/harness.js';

const F = 'th.yaml';

/** Thresholds of a scenario with stages `a` and `cut`. */
function parse(thresholds: string): Threshold[] {
  return parseScenario(`name: t\nstages:\n  - { name: a, hold: 1s }\n  - { name: cut, hold: 1s }\n  - { name: on, powerOn: { ramp: 0 } }\nthresholds:\n${thresholds}\n`, F).thresholds;
}
const one = (key: string, cond: string): Threshold => {
  const ths = parse(`  '${key}': ['${cond}']`);
  expect(ths).toHaveLength(1);
  return ths[0]!;
};
function refused(thresholds: string): string {
  try {
    parse(thresholds);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('expected a ScenarioError');
}

function hist(values: Iterable<number>): LogHistogram {
  const h = new LogHistogram();
  for (const v of values) h.record(v);
  return h;
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** Measurements by `metric{tags}` (tags sorted, `stage` never asked for): what a period measured. */
class TestSource implements MetricSource {
  asked: Array<[string, Record<string, string>]> = [];
  constructor(private readonly m: Record<string, LogHistogram | [number, number] | number | number[]>) {}
  private get(metric: string, tags: Record<string, string>): unknown {
    this.asked.push([metric, tags]);
    const key = Object.keys(tags).length ? `${metric}{${Object.keys(tags).sort().map((k) => `${k}:${tags[k]}`).join(',')}}` : metric;
    return this.m[key];
  }
  trend(metric: string, tags: Record<string, string>): LogHistogram | undefined {
    const v = this.get(metric, tags);
    return v instanceof LogHistogram ? v : undefined;
  }
  rate(metric: string, tags: Record<string, string>): [number, number] | undefined {
    const v = this.get(metric, tags);
    return Array.isArray(v) && v.length === 2 ? (v as [number, number]) : undefined;
  }
  count(metric: string, tags: Record<string, string>): number | undefined {
    const v = this.get(metric, tags);
    return typeof v === 'number' ? v : undefined;
  }
  series(metric: string, tags: Record<string, string>): number[] | undefined {
    const v = this.get(metric, tags);
    return Array.isArray(v) ? v : undefined;
  }
}

describe('parsing', () => {
  it('every stat, op and unit form', () => {
    expect(one('acs_response_ms{message:Inform}', 'p(95) < 500')).toEqual({ source: 'acs_response_ms{message:Inform}: p(95) < 500', metric: 'acs_response_ms', tags: { message: 'Inform' }, stat: 'p(95)', op: '<', value: 500, abortOnFail: false });
    expect(one('acs_response_ms', 'p(99.9)<2s')).toMatchObject({ stat: 'p(99.9)', op: '<', value: 2000 });
    expect(one('session_ms', 'avg <= 1.5s')).toMatchObject({ stat: 'avg', op: '<=', value: 1500 });
    expect(one('session_ms', 'med < 250ms')).toMatchObject({ stat: 'med', value: 250 });
    expect(one('ready_ms', 'max < 1m')).toMatchObject({ stat: 'max', value: 60000 });
    expect(one('usp_rtt_ms{msg_type:GET}', 'min > 0')).toMatchObject({ stat: 'min', op: '>', value: 0, tags: { msg_type: 'GET' } });
    expect(one('session_success', 'rate >= 0.99')).toMatchObject({ stat: 'rate', op: '>=', value: 0.99 });
    expect(one('session_failed{reason:timeout,status:503}', 'count == 0')).toMatchObject({ stat: 'count', op: '==', value: 0, tags: { reason: 'timeout', status: '503' } });
    expect(one('session_failed', 'rate < 0.01')).toMatchObject({ stat: 'rate', op: '<', value: 0.01 });
    expect(one('sessions', 'count != 0')).toMatchObject({ op: '!=' });
    expect(one('retry_after_honored', 'count === 0')).toMatchObject({ op: '==' });
    expect(one('sessions_per_sec{stage:cut}', 'p(50) > 10')).toMatchObject({ stat: 'p(50)', value: 10, tags: { stage: 'cut' } });
  });

  it('several conditions per metric, and abortOnFail', () => {
    const ths = parse("  'acs_response_ms{stage:cut}': ['p(95) < 500', { threshold: 'p(99) < 2s', abortOnFail: true }]");
    expect(ths.map((t) => [t.source, t.abortOnFail])).toEqual([
      ['acs_response_ms{stage:cut}: p(95) < 500', false],
      ['acs_response_ms{stage:cut}: p(99) < 2s', true],
    ]);
    expect(stageOf(ths[0]!)).toBe('cut');
    expect(sourceTags(ths[0]!)).toEqual({});
  });

  const cases: Array<[string, string, string]> = [
    ['an unknown metric', "  latency: ['p(95) < 5']", `scenario th.yaml: thresholds.latency: unknown metric "latency"; expected one of ${METRICS.map((m) => m.name).join(', ')}`],
    ['a tag the metric lacks', "  'session_ms{message:Inform}': ['p(95) < 5']", 'scenario th.yaml: thresholds["session_ms{message:Inform}"]: session_ms has no tag "message"; its tags are stage'],
    ['a stage that does not exist', "  'session_ms{stage:nope}': ['p(95) < 5']", 'scenario th.yaml: thresholds["session_ms{stage:nope}"]: stage:nope names no stage of the scenario; its stages are a, cut, on'],
    ['a malformed tag', "  'session_ms{stage}': ['p(95) < 5']", 'scenario th.yaml: thresholds["session_ms{stage}"]: expected tags as "tag:value" pairs separated by commas, got "stage"'],
    ['a tag twice', "  'session_ms{stage:a,stage:cut}': ['p(95) < 5']", 'scenario th.yaml: thresholds["session_ms{stage:a,stage:cut}"]: tag "stage" given twice'],
    ['a stat the kind lacks', "  session_success: ['p(95) < 5']", 'scenario th.yaml: thresholds.session_success[0]: session_success has no stat "p(95)"; expected rate'],
    ['a count on a trend', "  session_ms: ['count > 5']", 'scenario th.yaml: thresholds.session_ms[0]: session_ms has no stat "count"; expected avg, min, max, med, p(N)'],
    ['a malformed condition', "  session_ms: ['p95 < 500']", 'scenario th.yaml: thresholds.session_ms[0]: expected a condition "<stat> <op> <value>", e.g. "p(95) < 500", "rate >= 0.99" or "count == 0", got "p95 < 500"'],
    ['a percentile out of range', "  session_ms: ['p(101) < 500']", 'scenario th.yaml: thresholds.session_ms[0]: expected a percentile p(N) with 0 < N <= 100, got "p(101)"'],
    ['a latency in an unknown unit', "  session_ms: ['p(95) < 5min']", 'scenario th.yaml: thresholds.session_ms[0]: expected a latency in ms ("500", "500ms", "2s"), got "5min"'],
    ['a rate above 1', "  session_success: ['rate >= 99']", 'scenario th.yaml: thresholds.session_success[0]: expected a rate from 0 to 1 (e.g. 0.99), got "99"'],
    ['a fractional count', "  sessions: ['count > 1.5']", 'scenario th.yaml: thresholds.sessions[0]: expected a count (an integer >= 0), got "1.5"'],
    ['a unit on a rate over time', "  sessions_per_sec: ['avg > 5s']", 'scenario th.yaml: thresholds.sessions_per_sec[0]: expected a number per second (e.g. 250), got "5s"'],
    ['a condition that is not a list', "  session_ms: 'p(95) < 5'", 'scenario th.yaml: thresholds.session_ms: expected a non-empty list of conditions, e.g. [\'p(95) < 500\'], got "p(95) < 5"'],
    ['abortOnFail not a boolean', "  session_ms: [{ threshold: 'p(95) < 5', abortOnFail: yes }]", 'scenario th.yaml: thresholds.session_ms[0].abortOnFail: expected true or false, got "yes"'],
    ['a condition map without threshold', '  session_ms: [{ abortOnFail: true }]', 'scenario th.yaml: thresholds.session_ms[0].threshold: missing: expected a condition "<stat> <op> <value>", e.g. "p(95) < 500", "rate >= 0.99" or "count == 0"'],
    ['a condition map with another key', "  session_ms: [{ threshold: 'p(95) < 5', delay: 1s }]", 'scenario th.yaml: thresholds.session_ms[0].delay: unknown key; the keys here are threshold, abortOnFail'],
  ];
  it.each(cases)('%s is refused', (_what, yaml, message) => {
    expect(refused(yaml)).toBe(message);
  });

  it('the table: every metric has a kind, every kind its stats', () => {
    for (const m of METRICS) for (const k of m.kinds) expect(STATS[k].length).toBeGreaterThan(0);
    expect(METRICS.find((m) => m.name === 'session_failed')!.kinds).toEqual(['rate', 'count']);
  });
});

describe('evaluation on a MetricSource', () => {
  const src = new TestSource({
    'acs_response_ms{message:Inform}': hist(range(1, 100)),
    acs_response_ms: hist([...range(1, 100), ...range(1000, 1099)]),
    session_ms: hist([]),
    ready_ms: hist([10, 20, 30, 40]),
    session_success: [990, 1000],
    'session_failed{reason:timeout}': [3, 1000],
    session_failed: 10,
    'session_failed{status:503}': 0,
    usp_success: [0, 0],
    sessions_per_sec: [5, 1, 3, 2, 4],
  });
  const ev = (key: string, cond: string) => evaluate(one(key, cond), src);

  it('percentiles are within 2% of the exact value', () => {
    const p95 = ev('acs_response_ms{message:Inform}', 'p(95) < 500').value!;
    expect(Math.abs(p95 - 95) / 95).toBeLessThanOrEqual(0.02);
    const p50 = ev('acs_response_ms{message:Inform}', 'med < 500').value!;
    expect(Math.abs(p50 - 50) / 50).toBeLessThanOrEqual(0.02);
    const p99 = ev('acs_response_ms', 'p(99) < 2s').value!;
    expect(Math.abs(p99 - 1097) / 1097).toBeLessThanOrEqual(0.02);
  });

  it('pass and fail around the value, with units', () => {
    expect(ev('acs_response_ms{message:Inform}', 'p(95) < 100').ok).toBe(true);
    expect(ev('acs_response_ms{message:Inform}', 'p(95) < 90').ok).toBe(false);
    expect(ev('acs_response_ms', 'p(99) < 2s').ok).toBe(true);
    expect(ev('acs_response_ms', 'p(99) < 1s').ok).toBe(false);
    expect(ev('acs_response_ms', 'p(40) < 1s').ok).toBe(true);
  });

  it('avg, min and max are exact', () => {
    expect(ev('ready_ms', 'avg == 25')).toEqual({ value: 25, ok: true });
    expect(ev('ready_ms', 'min >= 10')).toEqual({ value: 10, ok: true });
    expect(ev('ready_ms', 'max < 40')).toEqual({ value: 40, ok: false });
  });

  it('rates and counts', () => {
    expect(ev('session_success', 'rate >= 0.99')).toEqual({ value: 0.99, ok: true });
    expect(ev('session_success', 'rate > 0.99')).toEqual({ value: 0.99, ok: false });
    expect(ev('session_failed{reason:timeout}', 'rate < 0.001')).toEqual({ value: 0.003, ok: false });
    expect(ev('session_failed', 'count == 0')).toEqual({ value: 10, ok: false });
    // a count of 0 is a measurement: count == 0 holds
    expect(ev('session_failed{status:503}', 'count == 0')).toEqual({ value: 0, ok: true });
  });

  it('a series: per-second values, nearest-rank percentiles', () => {
    expect(ev('sessions_per_sec', 'avg > 2')).toEqual({ value: 3, ok: true });
    expect(ev('sessions_per_sec', 'med == 3')).toEqual({ value: 3, ok: true });
    expect(ev('sessions_per_sec', 'min > 1')).toEqual({ value: 1, ok: false });
    expect(ev('sessions_per_sec', 'p(80) <= 4')).toEqual({ value: 4, ok: true });
    expect(ev('sessions_per_sec', 'max < 6')).toEqual({ value: 5, ok: true });
  });

  it('nothing measured gives null and fails, whatever the condition', () => {
    expect(ev('session_ms', 'p(95) < 1h')).toEqual({ value: null, ok: false });
    expect(ev('usp_success', 'rate >= 0')).toEqual({ value: null, ok: false });
    expect(ev('usp_rtt_ms', 'p(99) < 1h')).toEqual({ value: null, ok: false });
    expect(ev('retry_after_honored', 'count >= 0')).toEqual({ value: null, ok: false });
    expect(evaluate(one('sessions_per_sec', 'avg > 0'), new TestSource({ sessions_per_sec: [] }))).toEqual({ value: null, ok: false });
  });

  it('the stage tag picks the period and is not asked of the source', () => {
    const th = one('acs_response_ms{message:Inform,stage:cut}', 'p(95) < 500');
    expect(stageOf(th)).toBe('cut');
    expect(kindOf(th)).toBe('trend');
    const s = new TestSource({ 'acs_response_ms{message:Inform}': hist([700, 800]) });
    expect(evaluate(th, s)).toEqual({ value: 800, ok: false });
    expect(s.asked).toEqual([['acs_response_ms', { message: 'Inform' }]]);
  });
});

describe('docs/scenarios.md matches the code', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'scenarios.md'), 'utf8');

  it('its metric table lists every metric with its kinds and tags, and nothing else', () => {
    const rows = doc.split('\n').filter((l) => /^\| `[a-z_]+` \| (trend|rate|count|series)/.test(l));
    const cells = rows.map((r) => r.split('|').map((c) => c.trim()));
    expect(cells.map((c) => c[1]!.replace(/`/g, ''))).toEqual(METRICS.map((m) => m.name));
    for (const m of METRICS) {
      const c = cells.find((x) => x[1] === `\`${m.name}\``)!;
      expect(c[2]).toBe(m.kinds.join(', '));
      expect(c[3]).toBe(m.tags.map((t) => `\`${t}\``).join(', '));
    }
  });

  it('its stats table gives each kind the stats the code allows', () => {
    for (const [kind, stats] of Object.entries(STATS)) {
      const row = doc.slice(doc.indexOf('## Thresholds')).split('\n').find((l) => l.startsWith(`| ${kind} | `))!;
      expect(row).toBeDefined();
      const listed = [...row.split('|')[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      expect(listed).toEqual(stats);
    }
  });

  it('has a section for every stage action, and its YAML examples that are whole scenarios parse', () => {
    for (const a of STAGE_ACTIONS.filter((x) => x !== 'hold')) expect(doc).toMatch(new RegExp(`^### ${a}( and |$)|^### \\w+ and ${a}$`, 'm'));
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const whole = blocks.filter((b) => /^name:/m.test(b) && /^stages:/m.test(b));
    expect(whole.length).toBeGreaterThan(0);
    for (const b of whole) expect(() => parseScenario(b, 'docs')).not.toThrow();
    // the stage examples parse as stages of a scenario
    for (const b of blocks.filter((x) => /^- name:/.test(x))) {
      const stagesOnly = b.split('\nthresholds:')[0]!;
      const th = b.includes('\nthresholds:') ? `thresholds:${b.split('\nthresholds:')[1]}` : '';
      const text = `name: t\nstages:\n${stagesOnly.replace(/^/gm, '  ')}\n  - { name: zz-on, powerOn: { ramp: 0 } }\n${th}`;
      expect(() => parseScenario(text, 'docs')).not.toThrow();
    }
  });
});

describe('session failure reasons', () => {
  it('are the reasons the CPEs count, and a typo in a reason or status tag is refused', async () => {
    const { FAIL_REASONS } = await import('../src/cwmp/session.js');
    const { SESSION_FAIL_REASONS } = await import('../src/scenario/thresholds.js');
    expect([...SESSION_FAIL_REASONS]).toEqual([...FAIL_REASONS]);
    const { parseScenario } = await import('../src/scenario/parse.js');
    const text = (key: string) => `name: t\nstages:\n  - name: on\n    powerOn: { target: {}, ramp: 0 }\nthresholds:\n  '${key}': ['count == 0']\n`;
    expect(() => parseScenario(text('session_failed{reason:timout}'), 't.yaml')).toThrow(/session_failed\{reason:timout\}.*reason:timout is not a reason; expected one of connect, timeout/);
    expect(() => parseScenario(text('session_failed{status:5O3}'), 't.yaml')).toThrow(/status:5O3 is not a status; expected an HTTP status code/);
    expect(parseScenario(text('session_failed{reason:power-off}'), 't.yaml').thresholds[0]!.tags).toEqual({ reason: 'power-off' });
  });
});
