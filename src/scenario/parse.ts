// The scenario file (docs/scenarios.md): YAML read into the model of model.ts, every key
// checked, every refusal naming the file, the key path and the form expected. One set of
// rules serves a stage's action, an event inside a stage and the body of POST /admin/events.
import YAML from 'yaml';
import { checkScenarioOptions, parseValue } from '../config/load.js';
import { ConfigError, ScenarioError } from '../util/errors.js';
import { at, durationSeconds, type Fail, failWith, fmtSeconds, isMap, mapAt, onlyKeys, shown } from './check.js';
import { type BreakpointSpec, FLEET_EVENT_KINDS, type FleetEvent, type FleetEventKind, type Ramp, type Restore, type Scenario, type Stage, type StageAction, type Target, type TimedEvent } from './model.js';
import { parseThresholds } from './thresholds.js';

const DURATION = 'a duration ("30s", "2m", "500ms" or a number of seconds)';
const DURATION_POSITIVE = 'a duration above 0 ("30s", "2m", "500ms" or a number of seconds)';
const DURATION_WITH_UNIT = 'a duration with its unit ("200ms", "1.5s") or 0';
const RAMP = 'a ramp: "<n>/s" (a rate), "<n>s" or "<n>m" (a window), or 0 (all at once)';
const RATE = 'a rate of sessions per second ("10/s" or a number above 0)';

/** The keys of each event's body, as written in YAML and JSON. */
const EVENT_KEYS: Readonly<Record<FleetEventKind, readonly string[]>> = {
  powerOn: ['target', 'ramp'],
  powerCut: ['target', 'duration', 'restore'],
  reboot: ['target', 'ramp'],
  factoryReset: ['target', 'ramp'],
  setInterval: ['target', 'interval'],
  linkFault: ['target', 'duration', 'latency', 'jitter', 'resetProbability', 'stallProbability', 'down'],
};
const TARGET_KEYS = ['fraction', 'from', 'to', 'profile'];
const BREAKPOINT_KEYS = ['target', 'from', 'to', 'duration', 'step', 'by'];
const BREAKPOINT_BY = ['interval', 'powerOn', 'both'] as const;
/** A stage's action keys: exactly one per stage. */
export const STAGE_ACTIONS: readonly string[] = ['hold', ...FLEET_EVENT_KINDS, 'breakpoint'];
const STAGE_KEYS = ['name', 'duration', 'events', ...STAGE_ACTIONS];
const TOP_KEYS = ['name', 'description', 'options', 'stages', 'thresholds'];
const EVENT_ENTRY_KEYS = ['at', ...FLEET_EVENT_KINDS];

function duration(v: unknown, path: string, fail: Fail, positive: boolean): number {
  if (v === undefined) fail(path, `missing; expected ${positive ? DURATION_POSITIVE : DURATION}`);
  const s = durationSeconds(v);
  if (s === undefined || (positive && s <= 0)) fail(path, `expected ${positive ? DURATION_POSITIVE : DURATION}, got ${shown(v)}`);
  return s;
}

/** Latency and jitter: a bare number would be ambiguous (ms or s?), so a unit is required. */
function millis(v: unknown, path: string, fail: Fail): number {
  if (v === undefined) return 0;
  const s = durationSeconds(v, 'none');
  if (s === undefined) fail(path, `expected ${DURATION_WITH_UNIT}, got ${shown(v)}`);
  return s * 1000;
}

function probability(v: unknown, path: string, fail: Fail): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(path, `expected a probability from 0 to 1 (e.g. 0.05), got ${shown(v)}`);
  return v;
}

function bool(v: unknown, path: string, fail: Fail): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(path, `expected true or false, got ${shown(v)}`);
  return v;
}

function index(v: unknown, path: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, `expected a CPE index (an integer >= 0), got ${shown(v)}`);
  return v;
}

function target(v: unknown, path: string, fail: Fail): Target {
  if (v === undefined || v === null) return {};
  const m = mapAt(v, path, fail, 'a target: a map of fraction, from, to and profile ({} for the whole fleet)');
  onlyKeys(m, path, TARGET_KEYS, fail);
  const t: Target = {};
  if (m['fraction'] !== undefined) {
    const f = m['fraction'];
    if (typeof f !== 'number' || !(f > 0 && f <= 1)) fail(at(path, 'fraction'), `expected a fraction above 0 and at most 1 (e.g. 0.2), got ${shown(f)}`);
    t.fraction = f;
  }
  if (m['from'] !== undefined) t.from = index(m['from'], at(path, 'from'), fail);
  if (m['to'] !== undefined) {
    t.to = index(m['to'], at(path, 'to'), fail);
    if (t.to <= (t.from ?? 0)) fail(at(path, 'to'), `expected an index above from (${t.from ?? 0}; to is exclusive), got ${t.to}`);
  }
  if (m['profile'] !== undefined) {
    if (typeof m['profile'] !== 'string' || m['profile'].trim() === '') fail(at(path, 'profile'), `expected a profile's name or folder, got ${shown(m['profile'])}`);
    t.profile = m['profile'].trim();
  }
  return t;
}

/** The --boot-ramp form, read by the option parser itself. */
function ramp(v: unknown, path: string, fail: Fail): Ramp {
  if (v === undefined) fail(path, `missing; expected ${RAMP}`);
  const r = parseValue({ t: 'ramp' }, v);
  if (!r.ok) fail(path, `expected ${RAMP}, got ${shown(v)}`);
  return r.value as Ramp;
}

function restore(v: unknown, path: string, fail: Fail): Restore {
  if (v === undefined || v === null) return { ramp: { mode: 'none' } };
  const m = mapAt(v, path, fail, 'a map with one of ramp ({ ramp: 200/s }) or bootDelay ({ bootDelay: [5s, 60s] })');
  onlyKeys(m, path, ['ramp', 'bootDelay'], fail);
  if ((m['ramp'] === undefined) === (m['bootDelay'] === undefined)) fail(path, `expected exactly one of ramp or bootDelay, got ${shown(v)}`);
  if (m['ramp'] !== undefined) return { ramp: ramp(m['ramp'], at(path, 'ramp'), fail) };
  const bp = at(path, 'bootDelay');
  const d = m['bootDelay'];
  if (!Array.isArray(d) || d.length !== 2) fail(bp, `expected [min, max], two durations (e.g. [5s, 60s]), got ${shown(d)}`);
  const minSeconds = duration(d[0], `${bp}[0]`, fail, false);
  const maxSeconds = duration(d[1], `${bp}[1]`, fail, false);
  if (maxSeconds < minSeconds) fail(`${bp}[1]`, `expected a duration no shorter than the minimum (${fmtSeconds(minSeconds)}), got ${shown(d[1])}`);
  return { bootDelay: { minSeconds, maxSeconds } };
}

function interval(v: unknown, path: string, fail: Fail): number {
  const form = 'a whole number of seconds >= 1 ("300s", "5m" or 300), as TR-181 Device.ManagementServer.PeriodicInformInterval takes';
  if (v === undefined) fail(path, `missing; expected ${form}`);
  const s = durationSeconds(v);
  if (s === undefined || s < 1 || !Number.isInteger(s)) fail(path, `expected ${form}, got ${shown(v)}`);
  return s;
}

/** One fleet event's body, `path` being where it sits (`stages[2].powerCut`, `powerCut`). */
function eventBody(kind: FleetEventKind, v: unknown, path: string, fail: Fail): FleetEvent {
  const m = mapAt(v, path, fail, `a map of ${EVENT_KEYS[kind].join(', ')}`);
  onlyKeys(m, path, EVENT_KEYS[kind], fail);
  const tg = target(m['target'], at(path, 'target'), fail);
  switch (kind) {
    case 'powerOn':
    case 'reboot':
    case 'factoryReset':
      return { kind, target: tg, ramp: ramp(m['ramp'], at(path, 'ramp'), fail) };
    case 'powerCut':
      return { kind, target: tg, durationSeconds: duration(m['duration'], at(path, 'duration'), fail, true), restore: restore(m['restore'], at(path, 'restore'), fail) };
    case 'setInterval':
      return { kind, target: tg, seconds: interval(m['interval'], at(path, 'interval'), fail) };
    case 'linkFault': {
      const fault = {
        latencyMs: millis(m['latency'], at(path, 'latency'), fail),
        jitterMs: millis(m['jitter'], at(path, 'jitter'), fail),
        resetProbability: probability(m['resetProbability'], at(path, 'resetProbability'), fail),
        stallProbability: probability(m['stallProbability'], at(path, 'stallProbability'), fail),
        down: bool(m['down'], at(path, 'down'), fail),
      };
      const durationSeconds_ = duration(m['duration'], at(path, 'duration'), fail, true);
      if (!fault.down && fault.latencyMs === 0 && fault.jitterMs === 0 && fault.resetProbability === 0 && fault.stallProbability === 0) {
        fail(path, 'expected at least one fault: latency, jitter, resetProbability, stallProbability or down: true');
      }
      return { kind, target: tg, durationSeconds: durationSeconds_, fault };
    }
  }
}

/** The one key of `m` among `kinds`, or a failure saying which were expected. */
function oneOf(m: Record<string, unknown>, kinds: readonly string[], path: string, fail: Fail, what: string): string {
  const found = kinds.filter((k) => m[k] !== undefined);
  if (found.length !== 1) fail(path, `expected exactly one ${what} (${kinds.join(', ')}), got ${found.length === 0 ? 'none' : found.join(' and ')}`);
  return found[0]!;
}

function rate(v: unknown, path: string, fail: Fail): number {
  if (v === undefined) fail(path, `missing; expected ${RATE}`);
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const m = /^(\d+(?:\.\d+)?)(?:\s*\/s)?$/.exec(s);
  if (!m || !(Number(m[1]) > 0)) fail(path, `expected ${RATE}, got ${shown(v)}`);
  return Number(m[1]);
}

function breakpoint(v: unknown, path: string, fail: Fail): BreakpointSpec {
  const m = mapAt(v, path, fail, `a map of ${BREAKPOINT_KEYS.join(', ')}`);
  onlyKeys(m, path, BREAKPOINT_KEYS, fail);
  const tg = target(m['target'], at(path, 'target'), fail);
  const fromRate = rate(m['from'], at(path, 'from'), fail);
  const toRate = rate(m['to'], at(path, 'to'), fail);
  if (toRate <= fromRate) fail(at(path, 'to'), `expected a rate above from (${fromRate}/s), got ${shown(m['to'])}`);
  const durationSeconds_ = duration(m['duration'], at(path, 'duration'), fail, true);
  const stepSeconds = duration(m['step'], at(path, 'step'), fail, true);
  if (stepSeconds > durationSeconds_) fail(at(path, 'step'), `expected a step no longer than duration (${fmtSeconds(durationSeconds_)}), got ${shown(m['step'])}`);
  const by = m['by'] ?? 'interval';
  if (!BREAKPOINT_BY.includes(by as never)) fail(at(path, 'by'), `expected one of ${BREAKPOINT_BY.join(', ')}, got ${shown(by)}`);
  return { target: tg, fromRate, toRate, durationSeconds: durationSeconds_, stepSeconds, by: by as BreakpointSpec['by'] };
}

function stage(v: unknown, path: string, fail: Fail): Stage {
  const m = mapAt(v, path, fail, `a stage: a map with name, one action (${STAGE_ACTIONS.join(', ')}), and optionally duration and events`);
  onlyKeys(m, path, STAGE_KEYS, fail);
  const name = m['name'];
  if (typeof name !== 'string' || name.trim() === '') fail(at(path, 'name'), `${name === undefined ? 'missing; expected' : 'expected'} a non-empty stage name${name === undefined ? '' : `, got ${shown(name)}`}`);
  const kind = oneOf(m, STAGE_ACTIONS, path, fail, 'action');
  const ap = at(path, kind);
  let action: StageAction;
  let length: number | undefined;
  if (kind === 'hold') {
    action = { kind: 'hold' };
    length = duration(m['hold'], ap, fail, true);
    if (m['duration'] !== undefined) fail(at(path, 'duration'), `a hold stage lasts its hold time (${fmtSeconds(length)}); give the time once, as hold`);
  } else if (kind === 'breakpoint') {
    const bp = breakpoint(m['breakpoint'], ap, fail);
    action = { kind: 'breakpoint', breakpoint: bp };
    if (m['duration'] !== undefined) fail(at(path, 'duration'), 'a breakpoint stage lasts its steps (breakpoint.duration, less when a threshold breaks); remove this duration');
    length = undefined;
  } else {
    action = { kind: 'event', event: eventBody(kind as FleetEventKind, m[kind], ap, fail) };
    length = m['duration'] === undefined ? undefined : duration(m['duration'], at(path, 'duration'), fail, true);
  }
  // How long the stage is known to last, for checking its events' times.
  const known = length ?? (action.kind === 'breakpoint' ? action.breakpoint.durationSeconds : undefined);
  const events: TimedEvent[] = [];
  if (m['events'] !== undefined && m['events'] !== null) {
    const ep = at(path, 'events');
    if (!Array.isArray(m['events'])) fail(ep, `expected a list of events, each { at: <duration>, <event>: {...} }, got ${shown(m['events'])}`);
    m['events'].forEach((e, i) => {
      const p = `${ep}[${i}]`;
      const em = mapAt(e, p, fail, `an event: { at: <duration>, one of ${FLEET_EVENT_KINDS.join(', ')}: {...} }`);
      onlyKeys(em, p, EVENT_ENTRY_KEYS, fail);
      const atSeconds = duration(em['at'], at(p, 'at'), fail, false);
      if (known !== undefined && atSeconds >= known) fail(at(p, 'at'), `expected a time within the stage (under ${fmtSeconds(known)}), got ${shown(em['at'])}`);
      const k = oneOf(em, FLEET_EVENT_KINDS, p, fail, 'event') as FleetEventKind;
      events.push({ atSeconds, event: eventBody(k, em[k], at(p, k), fail) });
    });
  }
  events.sort((a, b) => a.atSeconds - b.atSeconds);
  return { name: name.trim(), action, durationSeconds: length, events };
}

/** Read a scenario file's text; `file` names it in every message. Throws ScenarioError (a ConfigError). */
export function parseScenario(text: string, file: string): Scenario {
  const fail: Fail = failWith(`scenario ${file}: `);
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    fail('', `not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const top = mapAt(doc, '', fail, 'a map with name, stages and optionally description, options and thresholds');
  onlyKeys(top, '', TOP_KEYS, fail);
  const name = top['name'];
  if (typeof name !== 'string' || name.trim() === '') fail('name', `${name === undefined ? 'missing; expected' : 'expected'} a non-empty name for the scenario${name === undefined ? '' : `, got ${shown(name)}`}`);
  const description = top['description'] ?? '';
  if (typeof description !== 'string') fail('description', `expected a string, got ${shown(description)}`);
  let options: Record<string, unknown> = {};
  if (top['options'] !== undefined && top['options'] !== null) {
    options = mapAt(top['options'], 'options', fail, 'a map of cpe-sim options with camelCase keys, as in a --config file');
    try {
      checkScenarioOptions({ file, options });
    } catch (e) {
      // The option's own message, as --config gives it: `config: cpes (scenario x.yaml options.cpes): ...`.
      throw e instanceof ConfigError ? new ScenarioError(e.message) : e;
    }
  }
  const raw = top['stages'];
  if (!Array.isArray(raw) || raw.length === 0) fail('stages', `${raw === undefined ? 'missing; expected' : 'expected'} a non-empty list of stages${raw === undefined ? '' : `, got ${shown(raw)}`}`);
  const stages: Stage[] = [];
  raw.forEach((s, i) => {
    const st = stage(s, `stages[${i}]`, fail);
    const twin = stages.findIndex((o) => o.name === st.name);
    if (twin >= 0) fail(`stages[${i}].name`, `"${st.name}" already names stages[${twin}]; stage names must be unique`);
    stages.push(st);
  });
  const thresholds = parseThresholds(top['thresholds'], stages.map((s) => s.name), 'thresholds', fail);
  // Under `cpe-sim run` every CPE starts off: something must power the fleet on.
  const powersOn = (ev: FleetEvent) => ev.kind === 'powerOn';
  const on = stages.some(
    (st) =>
      (st.action.kind === 'event' && powersOn(st.action.event)) ||
      (st.action.kind === 'breakpoint' && st.action.breakpoint.by !== 'interval') ||
      st.events.some((e) => powersOn(e.event)),
  );
  if (!on) fail('stages', 'no stage or event powers the fleet on, and every CPE starts off under cpe-sim run; begin with a stage like { name: power-on, powerOn: { target: {}, ramp: 200/s } }');
  // A breakpoint search stops at the first step where a threshold scoped to it breaks.
  stages.forEach((st, i) => {
    if (st.action.kind === 'breakpoint' && !thresholds.some((t) => t.tags['stage'] === st.name)) {
      fail(`stages[${i}].breakpoint`, `a breakpoint stage needs a threshold scoped to it to know where the ACS breaks, e.g. thresholds: { 'session_success{stage:${st.name}}': ['rate >= 0.99'] }`);
    }
  });
  return { file, name: name.trim(), description: description.trim(), options, stages, thresholds };
}

/**
 * The body of POST /admin/events: one event as in a stage (`{"powerCut": {...}}`), applied
 * now. Throws ScenarioError naming the bad field (`powerCut.duration: expected ...`).
 */
export function parseEvent(json: unknown): FleetEvent {
  const fail: Fail = failWith('');
  const m = mapAt(json, '', fail, `an object with one event key (${FLEET_EVENT_KINDS.join(', ')})`);
  onlyKeys(m, '', FLEET_EVENT_KINDS, fail);
  const kind = oneOf(m, FLEET_EVENT_KINDS, '', fail, 'event key') as FleetEventKind;
  return eventBody(kind, m[kind], kind, fail);
}
