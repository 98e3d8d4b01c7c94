// Scenario files (src/scenario/parse.ts, docs/scenarios.md): the shipped examples parse into
// the model, every form maps to its field, and every bad input is refused with the file,
// the key path and the form expected. POST /admin/events bodies go through the same rules.
// Scenario options are a config source between env and --config, named in errors.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import type { FleetEvent, Scenario, Stage } from '../src/scenario/model.js';
import { parseEvent, parseScenario } from '../src/scenario/parse.js';
import { ConfigError, ScenarioError } from '../src/util/errors.js';
import { repoRoot } from './helpers/harness.js';

const F = 'storm.yaml';

/** A scenario whose stages are the YAML given (indented as list items), then a stage powering the fleet on. */
const withStages = (stages: string, extra = ''): string => `name: t\nstages:\n${stages}\n${ON}\n${extra}`;
const ON = '  - { name: on, powerOn: { ramp: 0 } }';

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ScenarioError).code).toBe('CONFIG_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected a ScenarioError');
}
const bad = (text: string): string => refused(() => parseScenario(text, F));
const stageOf = (yaml: string): Stage => parseScenario(withStages(yaml), F).stages[0]!;
const actionEvent = (s: Stage): FleetEvent => {
  if (s.action.kind !== 'event') throw new Error(`not an event stage: ${s.action.kind}`);
  return s.action.event;
};

describe('the shipped scenarios', () => {
  const files = readdirSync(join(repoRoot, 'scenarios')).filter((f) => f.endsWith('.yaml'));

  it('ship at least the boot storm, the steady day and the breakpoint search', () => {
    expect(files).toEqual(expect.arrayContaining(['boot-storm.yaml', 'steady-day.yaml', 'breakpoint.yaml']));
  });

  it.each(files)('%s parses, runs on the embedded mock ACS and its options make a Config', (f) => {
    const path = join('scenarios', f);
    const s = parseScenario(readFileSync(join(repoRoot, path), 'utf8'), path);
    expect(s.file).toBe(path);
    expect(s.name).not.toBe('');
    expect(s.stages.length).toBeGreaterThan(1);
    expect(s.thresholds.length).toBeGreaterThan(0);
    const cfg = loadConfig({ flags: {}, env: {}, scenario: { file: path, options: s.options } });
    expect(cfg.mockAcs).toEqual({ host: '127.0.0.1', port: 7647 });
    expect(cfg.cpes).toBeGreaterThanOrEqual(500);
    expect(cfg.cpes).toBeLessThanOrEqual(5000);
  });

  it('boot-storm.yaml: the cut is CPEs [0, 1000) dark for 60 s, back all at once', () => {
    const s = parseScenario(readFileSync(join(repoRoot, 'scenarios/boot-storm.yaml'), 'utf8'), 'boot-storm.yaml');
    const cut = s.stages.find((st) => st.name === 'cut')!;
    expect(actionEvent(cut)).toEqual({ kind: 'powerCut', target: { from: 0, to: 1000 }, durationSeconds: 60, restore: { ramp: { mode: 'none' } } });
    const abort = s.thresholds.find((t) => t.abortOnFail)!;
    expect(abort).toMatchObject({ metric: 'acs_response_ms', tags: { message: 'Inform', stage: 'cut' }, stat: 'p(99)', op: '<', value: 2000 });
  });
});

describe('every form maps onto the model', () => {
  it('the whole example of the format', () => {
    const text = `
name: boot storm after a regional power cut
description: a whole example
options:
  cpes: 5000
stages:
  - name: power-on
    powerOn: { target: { fraction: 1 }, ramp: 500/s }
  - name: steady
    hold: 60s
    events:
      - at: 20s
        linkFault: { target: { fraction: 0.2 }, duration: 30s, latency: 200ms, jitter: 50ms, resetProbability: 0.05, stallProbability: 0.01, down: false }
      - at: 5s
        reboot: { target: { from: 10, to: 20 }, ramp: 0 }
  - name: cut
    powerCut: { target: { from: 0, to: 2000 }, duration: 30s, restore: { ramp: 200/s } }
    duration: 3m
  - name: cut-2
    powerCut: { target: { fraction: 0.5 }, duration: 1m, restore: { bootDelay: [5s, 60s] } }
  - name: reboots
    reboot: { target: { fraction: 0.1 }, ramp: 50/s }
  - name: resets
    factoryReset: { target: { fraction: 0.01 }, ramp: 10s }
  - name: provisioning
    setInterval: { target: { profile: example-tr181-gateway }, interval: 300s }
  - name: find-the-limit
    breakpoint: { target: {}, from: 10/s, to: 500/s, duration: 5m, step: 15s, by: both }
thresholds:
  session_success: ['rate >= 0.99']
  'acs_response_ms{message:Inform,stage:cut}': [{ threshold: 'p(99) < 2s', abortOnFail: true }]
  'session_success{stage:find-the-limit}': ['rate > 0.9']
`;
    const s: Scenario = parseScenario(text, F);
    expect(s).toMatchObject({ file: F, name: 'boot storm after a regional power cut', description: 'a whole example', options: { cpes: 5000 } });
    const [on, steady, cut, cut2, reboots, resets, prov, bp] = s.stages;
    expect(on).toEqual({ name: 'power-on', action: { kind: 'event', event: { kind: 'powerOn', target: { fraction: 1 }, ramp: { mode: 'rate', perSecond: 500 } } }, durationSeconds: undefined, events: [] });
    expect(steady!.action).toEqual({ kind: 'hold' });
    expect(steady!.durationSeconds).toBe(60);
    // events are ordered by time
    expect(steady!.events).toEqual([
      { atSeconds: 5, event: { kind: 'reboot', target: { from: 10, to: 20 }, ramp: { mode: 'none' } } },
      {
        atSeconds: 20,
        event: { kind: 'linkFault', target: { fraction: 0.2 }, durationSeconds: 30, fault: { latencyMs: 200, jitterMs: 50, resetProbability: 0.05, stallProbability: 0.01, down: false } },
      },
    ]);
    expect(cut!.durationSeconds).toBe(180);
    expect(actionEvent(cut!)).toEqual({ kind: 'powerCut', target: { from: 0, to: 2000 }, durationSeconds: 30, restore: { ramp: { mode: 'rate', perSecond: 200 } } });
    expect(actionEvent(cut2!)).toEqual({ kind: 'powerCut', target: { fraction: 0.5 }, durationSeconds: 60, restore: { bootDelay: { minSeconds: 5, maxSeconds: 60 } } });
    expect(actionEvent(reboots!)).toEqual({ kind: 'reboot', target: { fraction: 0.1 }, ramp: { mode: 'rate', perSecond: 50 } });
    expect(actionEvent(resets!)).toEqual({ kind: 'factoryReset', target: { fraction: 0.01 }, ramp: { mode: 'window', seconds: 10 } });
    expect(actionEvent(prov!)).toEqual({ kind: 'setInterval', target: { profile: 'example-tr181-gateway' }, seconds: 300 });
    expect(bp!.action).toEqual({ kind: 'breakpoint', breakpoint: { target: {}, fromRate: 10, toRate: 500, durationSeconds: 300, stepSeconds: 15, by: 'both' } });
    expect(bp!.durationSeconds).toBeUndefined();
    expect(s.thresholds).toEqual([
      { source: 'session_success: rate >= 0.99', metric: 'session_success', tags: {}, stat: 'rate', op: '>=', value: 0.99, abortOnFail: false },
      { source: 'acs_response_ms{message:Inform,stage:cut}: p(99) < 2s', metric: 'acs_response_ms', tags: { message: 'Inform', stage: 'cut' }, stat: 'p(99)', op: '<', value: 2000, abortOnFail: true },
      { source: 'session_success{stage:find-the-limit}: rate > 0.9', metric: 'session_success', tags: { stage: 'find-the-limit' }, stat: 'rate', op: '>', value: 0.9, abortOnFail: false },
    ]);
  });

  it.each([
    ['30s', 30],
    ['2m', 120],
    ['1h', 3600],
    ['500ms', 0.5],
    ['1.5s', 1.5],
    [45, 45],
    ['"45"', 45],
  ])('duration %s is %d s', (d, s) => {
    expect(stageOf(`  - { name: a, hold: ${d} }`).durationSeconds).toBe(s);
  });

  it('defaults: no target is the whole fleet, no restore is all at once, breakpoint by interval, link fault fields 0', () => {
    expect(actionEvent(stageOf('  - { name: a, powerCut: { duration: 10s } }'))).toEqual({ kind: 'powerCut', target: {}, durationSeconds: 10, restore: { ramp: { mode: 'none' } } });
    expect(actionEvent(stageOf('  - { name: a, linkFault: { duration: 10s, down: true } }'))).toEqual({
      kind: 'linkFault',
      target: {},
      durationSeconds: 10,
      fault: { latencyMs: 0, jitterMs: 0, resetProbability: 0, stallProbability: 0, down: true },
    });
    const bp = parseScenario(withStages('  - { name: a, breakpoint: { from: 5, to: 50/s, duration: 60s, step: 10s } }', "thresholds: { 'session_success{stage:a}': ['rate > 0.9'] }"), F).stages[0]!.action;
    expect(bp).toEqual({ kind: 'breakpoint', breakpoint: { target: {}, fromRate: 5, toRate: 50, durationSeconds: 60, stepSeconds: 10, by: 'interval' } });
  });
});

describe('bad input: the file, the key path and the form expected', () => {
  const cases: Array<[string, string, string]> = [
    // [what, YAML, the whole message]
    ['a bad duration', withStages('  - { name: a, powerOn: { ramp: 0 } }\n  - { name: b, hold: 1s }\n  - { name: c, powerCut: { duration: abc } }'), 'scenario storm.yaml: stages[2].powerCut.duration: expected a duration above 0 ("30s", "2m", "500ms" or a number of seconds), got "abc"'],
    ['a missing duration', withStages('  - { name: c, powerCut: { target: {} } }'), 'scenario storm.yaml: stages[0].powerCut.duration: missing; expected a duration above 0 ("30s", "2m", "500ms" or a number of seconds)'],
    ['a zero hold', withStages('  - { name: a, hold: 0 }'), 'scenario storm.yaml: stages[0].hold: expected a duration above 0 ("30s", "2m", "500ms" or a number of seconds), got 0'],
    ['a fraction above 1', withStages('  - { name: a, reboot: { target: { fraction: 1.5 }, ramp: 0 } }'), 'scenario storm.yaml: stages[0].reboot.target.fraction: expected a fraction above 0 and at most 1 (e.g. 0.2), got 1.5'],
    ['a fraction of 0', withStages('  - { name: a, reboot: { target: { fraction: 0 }, ramp: 0 } }'), 'scenario storm.yaml: stages[0].reboot.target.fraction: expected a fraction above 0 and at most 1 (e.g. 0.2), got 0'],
    ['to not above from', withStages('  - { name: a, reboot: { target: { from: 10, to: 10 }, ramp: 0 } }'), 'scenario storm.yaml: stages[0].reboot.target.to: expected an index above from (10; to is exclusive), got 10'],
    ['a negative index', withStages('  - { name: a, reboot: { target: { from: -1 }, ramp: 0 } }'), 'scenario storm.yaml: stages[0].reboot.target.from: expected a CPE index (an integer >= 0), got -1'],
    ['a bad ramp', withStages('  - { name: a, powerOn: { ramp: fast } }'), 'scenario storm.yaml: stages[0].powerOn.ramp: expected a ramp: "<n>/s" (a rate), "<n>s" or "<n>m" (a window), or 0 (all at once), got "fast"'],
    ['a missing ramp', withStages('  - { name: a, reboot: { target: {} } }'), 'scenario storm.yaml: stages[0].reboot.ramp: missing; expected a ramp: "<n>/s" (a rate), "<n>s" or "<n>m" (a window), or 0 (all at once)'],
    ['an unknown key, with a did-you-mean', withStages('  - { name: a, powerCut: { duraton: 30s } }'), 'scenario storm.yaml: stages[0].powerCut.duraton: unknown key (did you mean "duration"?); the keys here are target, duration, restore'],
    ['an unknown stage key', withStages('  - { name: a, powerof: { ramp: 0 } }'), 'scenario storm.yaml: stages[0].powerof: unknown key (did you mean "powerOn"?); the keys here are name, duration, events, hold, powerOn, powerCut, reboot, factoryReset, setInterval, linkFault, breakpoint'],
    ['an unknown top key', 'name: t\nstage:\n  - { name: a, powerOn: { ramp: 0 } }\n', 'scenario storm.yaml: stage: unknown key (did you mean "stages"?); the keys here are name, description, options, stages, thresholds'],
    ['two actions', withStages('  - { name: a, hold: 1s, reboot: { ramp: 0 } }'), 'scenario storm.yaml: stages[0]: expected exactly one action (hold, powerOn, powerCut, reboot, factoryReset, setInterval, linkFault, breakpoint), got hold and reboot'],
    ['no action', withStages('  - { name: a, duration: 1s }'), 'scenario storm.yaml: stages[0]: expected exactly one action (hold, powerOn, powerCut, reboot, factoryReset, setInterval, linkFault, breakpoint), got none'],
    ['a stage without a name', withStages('  - { hold: 1s }'), 'scenario storm.yaml: stages[0].name: missing; expected a non-empty stage name'],
    ['an empty stage name', withStages('  - { name: "", hold: 1s }'), 'scenario storm.yaml: stages[0].name: expected a non-empty stage name, got ""'],
    ['a repeated stage name', withStages('  - { name: a, hold: 1s }\n  - { name: a, hold: 2s }'), 'scenario storm.yaml: stages[1].name: "a" already names stages[0]; stage names must be unique'],
    ['no stages', 'name: t\n', 'scenario storm.yaml: stages: missing; expected a non-empty list of stages'],
    ['an empty stage list', 'name: t\nstages: []\n', 'scenario storm.yaml: stages: expected a non-empty list of stages, got []'],
    ['no name', 'stages:\n  - { name: a, powerOn: { ramp: 0 } }\n', 'scenario storm.yaml: name: missing; expected a non-empty name for the scenario'],
    ['not a map', '- a\n- b\n', 'scenario storm.yaml: expected a map with name, stages and optionally description, options and thresholds, got ["a","b"]'],
    ['a hold with a duration', withStages('  - { name: a, hold: 10s, duration: 20s }'), 'scenario storm.yaml: stages[0].duration: a hold stage lasts its hold time (10s); give the time once, as hold'],
    ['an event after its stage ends', withStages('  - name: a\n    hold: 60s\n    events:\n      - { at: 90s, reboot: { ramp: 0 } }'), 'scenario storm.yaml: stages[0].events[0].at: expected a time within the stage (under 60s), got "90s"'],
    ['an event without a time', withStages('  - name: a\n    hold: 60s\n    events:\n      - { reboot: { ramp: 0 } }'), 'scenario storm.yaml: stages[0].events[0].at: missing; expected a duration ("30s", "2m", "500ms" or a number of seconds)'],
    ['a hold as an event', withStages('  - name: a\n    hold: 60s\n    events:\n      - { at: 1s, hold: 5s }'), 'scenario storm.yaml: stages[0].events[0].hold: unknown key; the keys here are at, powerOn, powerCut, reboot, factoryReset, setInterval, linkFault'],
    ['a link fault that does nothing', withStages('  - { name: a, linkFault: { duration: 10s } }'), 'scenario storm.yaml: stages[0].linkFault: expected at least one fault: latency, jitter, resetProbability, stallProbability or down: true'],
    ['a latency without its unit', withStages('  - { name: a, linkFault: { duration: 10s, latency: 200 } }'), 'scenario storm.yaml: stages[0].linkFault.latency: expected a duration with its unit ("200ms", "1.5s") or 0, got 200'],
    ['a probability above 1', withStages('  - { name: a, linkFault: { duration: 10s, resetProbability: 5 } }'), 'scenario storm.yaml: stages[0].linkFault.resetProbability: expected a probability from 0 to 1 (e.g. 0.05), got 5'],
    ['down as a word', withStages('  - { name: a, linkFault: { duration: 10s, down: yes } }'), 'scenario storm.yaml: stages[0].linkFault.down: expected true or false, got "yes"'],
    ['both restores', withStages('  - { name: a, powerCut: { duration: 10s, restore: { ramp: 0, bootDelay: [1s, 2s] } } }'), 'scenario storm.yaml: stages[0].powerCut.restore: expected exactly one of ramp or bootDelay, got {"ramp":0,"bootDelay":["1s","2s"]}'],
    ['a boot delay backwards', withStages('  - { name: a, powerCut: { duration: 10s, restore: { bootDelay: [60s, 5s] } } }'), 'scenario storm.yaml: stages[0].powerCut.restore.bootDelay[1]: expected a duration no shorter than the minimum (60s), got "5s"'],
    ['a boot delay not a pair', withStages('  - { name: a, powerCut: { duration: 10s, restore: { bootDelay: 5s } } }'), 'scenario storm.yaml: stages[0].powerCut.restore.bootDelay: expected [min, max], two durations (e.g. [5s, 60s]), got "5s"'],
    ['an interval under a second', withStages('  - { name: a, setInterval: { interval: 500ms } }'), 'scenario storm.yaml: stages[0].setInterval.interval: expected a whole number of seconds >= 1 ("300s", "5m" or 300), as TR-181 Device.ManagementServer.PeriodicInformInterval takes, got "500ms"'],
    ['a breakpoint going down', withStages('  - { name: a, breakpoint: { from: 100/s, to: 10/s, duration: 1m, step: 10s } }'), 'scenario storm.yaml: stages[0].breakpoint.to: expected a rate above from (100/s), got "10/s"'],
    ['a breakpoint rate without a number', withStages('  - { name: a, breakpoint: { from: many, to: 10/s, duration: 1m, step: 10s } }'), 'scenario storm.yaml: stages[0].breakpoint.from: expected a rate of sessions per second ("10/s" or a number above 0), got "many"'],
    ['a breakpoint step longer than it', withStages('  - { name: a, breakpoint: { from: 1/s, to: 10/s, duration: 1m, step: 2m } }'), 'scenario storm.yaml: stages[0].breakpoint.step: expected a step no longer than duration (60s), got "2m"'],
    ['a breakpoint by something else', withStages('  - { name: a, breakpoint: { from: 1/s, to: 10/s, duration: 1m, step: 10s, by: reboot } }'), 'scenario storm.yaml: stages[0].breakpoint.by: expected one of interval, powerOn, both, got "reboot"'],
    ['a breakpoint with a stage duration', withStages('  - { name: a, duration: 5m, breakpoint: { from: 1/s, to: 10/s, duration: 1m, step: 10s } }'), 'scenario storm.yaml: stages[0].duration: a breakpoint stage lasts its steps (breakpoint.duration, less when a threshold breaks); remove this duration'],
    ['a breakpoint no threshold is scoped to', withStages('  - { name: bp, breakpoint: { from: 1/s, to: 10/s, duration: 1m, step: 10s } }', "thresholds: { session_success: ['rate > 0.9'] }"), "scenario storm.yaml: stages[0].breakpoint: a breakpoint stage needs a threshold scoped to it to know where the ACS breaks, e.g. thresholds: { 'session_success{stage:bp}': ['rate >= 0.99'] }"],
    ['nothing powering the fleet on', 'name: t\nstages:\n  - { name: a, hold: 1s }\n', 'scenario storm.yaml: stages: no stage or event powers the fleet on, and every CPE starts off under cpe-sim run; begin with a stage like { name: power-on, powerOn: { target: {}, ramp: 200/s } }'],
    ['a target that is not a map', withStages('  - { name: a, reboot: { target: all, ramp: 0 } }'), 'scenario storm.yaml: stages[0].reboot.target: expected a target: a map of fraction, from, to and profile ({} for the whole fleet), got "all"'],
    ['an empty profile', withStages('  - { name: a, reboot: { target: { profile: "" }, ramp: 0 } }'), 'scenario storm.yaml: stages[0].reboot.target.profile: expected a profile\'s name or folder, got ""'],
  ];
  it.each(cases)('%s', (_what, text, message) => {
    expect(bad(text)).toBe(message);
  });

  it('YAML that does not parse names the file', () => {
    expect(bad('name: [unclosed\n')).toMatch(/^scenario storm\.yaml: not valid YAML: /);
    expect(bad('name: a\nname: b\nstages: []\n')).toMatch(/^scenario storm\.yaml: not valid YAML: .*[Mm]ap keys must be unique/);
  });
});

describe('options: checked as --config checks them, the scenario named as the source', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cpe-sim-scenario-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a bad value names the key, the scenario and the form expected', () => {
    expect(bad('name: t\noptions: { cpes: x }\nstages: [{ name: a, powerOn: { ramp: 0 } }]\n')).toBe('config: cpes (scenario storm.yaml options.cpes): expected an integer from 1 to 10000000, got "x"');
    expect(bad('name: t\noptions: { bootRamp: quick }\nstages: [{ name: a, powerOn: { ramp: 0 } }]\n')).toBe('config: bootRamp (scenario storm.yaml options.bootRamp): expected "<n>/s", "<n>s", "<n>m" or 0, got "quick"');
  });

  it('an unknown key gets a did-you-mean; duration and config are refused', () => {
    expect(bad('name: t\noptions: { maxSesions: 5 }\nstages: [{ name: a, powerOn: { ramp: 0 } }]\n')).toBe('config: scenario storm.yaml options: unknown key "maxSesions" (did you mean "maxSessions"?)');
    expect(bad('name: t\noptions: { duration: 60 }\nstages: [{ name: a, powerOn: { ramp: 0 } }]\n')).toBe('config: scenario storm.yaml options: "duration" cannot be set in a scenario (its stages decide how long the run lasts)');
    expect(bad('name: t\noptions: { config: x.yaml }\nstages: [{ name: a, powerOn: { ramp: 0 } }]\n')).toBe('config: scenario storm.yaml options: "config" cannot be set inside the config file');
    expect(bad('name: t\noptions: [cpes]\nstages: [{ name: a, powerOn: { ramp: 0 } }]\n')).toBe('scenario storm.yaml: options: expected a map of cpe-sim options with camelCase keys, as in a --config file, got ["cpes"]');
  });

  it('precedence: flag > env > scenario > --config file > default', () => {
    const config = join(tmp, 'c.yaml');
    writeFileSync(config, 'cpes: 200\nmaxSessions: 7\nmockAcs: 127.0.0.1:0\n');
    const scenario = { file: F, options: { cpes: 300, seed: 9 } };
    const base = loadConfig({ flags: { mockAcs: '127.0.0.1:0' }, env: {} });
    expect([base.cpes, base.seed, base.maxSessions]).toEqual([100, 1, 100]);
    const fromScenario = loadConfig({ flags: { config }, env: {}, scenario });
    expect([fromScenario.cpes, fromScenario.seed, fromScenario.maxSessions]).toEqual([300, 9, 7]);
    expect(loadConfig({ flags: { config }, env: { CPE_SIM_CPES: '400' }, scenario }).cpes).toBe(400);
    expect(loadConfig({ flags: { config, cpes: '500' }, env: { CPE_SIM_CPES: '400' }, scenario }).cpes).toBe(500);
  });

  it('loadConfig names the scenario as the source of a bad value it picked', () => {
    const msg = refusedConfig(() => loadConfig({ flags: { mockAcs: '127.0.0.1:0' }, env: {}, scenario: { file: F, options: { cpes: 'x' } } }));
    expect(msg).toBe('config: cpes (scenario storm.yaml options.cpes): expected an integer from 1 to 10000000, got "x"');
    // a flag over it wins before the value is looked at, as over a --config file
    expect(loadConfig({ flags: { mockAcs: '127.0.0.1:0', cpes: '5' }, env: {}, scenario: { file: F, options: { cpes: 'x' } } }).cpes).toBe(5);
  });
});

function refusedConfig(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('POST /admin/events bodies: one event, the same rules', () => {
  it('maps each event kind as a stage does', () => {
    expect(parseEvent({ powerCut: { target: { fraction: 0.3 }, duration: '60s', restore: { ramp: '100/s' } } })).toEqual({
      kind: 'powerCut',
      target: { fraction: 0.3 },
      durationSeconds: 60,
      restore: { ramp: { mode: 'rate', perSecond: 100 } },
    });
    expect(parseEvent({ setInterval: { interval: 60 } })).toEqual({ kind: 'setInterval', target: {}, seconds: 60 });
    expect(parseEvent({ linkFault: { target: { from: 0, to: 10 }, duration: '1m', stallProbability: 0.5 } })).toEqual({
      kind: 'linkFault',
      target: { from: 0, to: 10 },
      durationSeconds: 60,
      fault: { latencyMs: 0, jitterMs: 0, resetProbability: 0, stallProbability: 0.5, down: false },
    });
  });

  it.each<[unknown, string]>([
    [{ powerCut: { target: { fraction: 0.3 }, duration: 'abc' } }, 'powerCut.duration: expected a duration above 0 ("30s", "2m", "500ms" or a number of seconds), got "abc"'],
    [{ reboot: { target: { fraction: 2 }, ramp: 0 } }, 'reboot.target.fraction: expected a fraction above 0 and at most 1 (e.g. 0.2), got 2'],
    [{ powercut: {} }, 'powercut: unknown key (did you mean "powerCut"?); the keys here are powerOn, powerCut, reboot, factoryReset, setInterval, linkFault'],
    [{ at: '5s', reboot: { ramp: 0 } }, 'at: unknown key; the keys here are powerOn, powerCut, reboot, factoryReset, setInterval, linkFault'],
    [{}, 'expected exactly one event key (powerOn, powerCut, reboot, factoryReset, setInterval, linkFault), got none'],
    [{ reboot: { ramp: 0 }, powerOn: { ramp: 0 } }, 'expected exactly one event key (powerOn, powerCut, reboot, factoryReset, setInterval, linkFault), got powerOn and reboot'],
    ['reboot', 'expected an object with one event key (powerOn, powerCut, reboot, factoryReset, setInterval, linkFault), got "reboot"'],
    [{ reboot: 5 }, 'reboot: expected a map of target, ramp, got 5'],
  ])('%j is refused naming the field', (body, message) => {
    expect(refused(() => parseEvent(body))).toBe(message);
  });
});
