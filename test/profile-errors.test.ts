// Profile folders (docs/profiles.md): every broken profile is refused with a message that
// names the file and the key; the shipped profiles load and compile.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { ObjectNode, ParamNode, Template } from '../src/datamodel/schema.js';
import { compileProfile } from '../src/profile/compile.js';
import { loadProfile } from '../src/profile/load.js';
import { ProfileError } from '../src/util/errors.js';
import { exampleProfile, tr098Profile } from './helpers/harness.js';

const PROFILE = `name: broken-test
root: Device
identity:
  manufacturer: "Test Networks"
  oui: "0C5A9E"
  productClass: "T-1"
  modelName: "T-1 Gateway"
  serialPattern: "T{index:06}"
  hardwareVersion: "HW-1"
  softwareVersion: "1.0"
pools:
  mac: { base: "02:00:00:00:00:00", perCpe: 4 }
  ipv4:
    wan: { cidr: "100.64.0.0/10", perCpe: 1 }
`;

const GOOD_MODEL = `Device.DeviceInfo.:
  params:
    SerialNumber: string R {{serial}}
`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Write a profile folder: relative path -> text (undefined: leave the file out). */
function profileDir(files: Record<string, string | undefined>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-profile-'));
  dirs.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    if (text === undefined) continue;
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** A profile with the valid profile.yaml and one model file model/a.yaml. */
const withModel = (model: string) => profileDir({ 'profile.yaml': PROFILE, 'model/a.yaml': model });
const withProfile = (profile: string) => profileDir({ 'profile.yaml': profile, 'model/a.yaml': GOOD_MODEL });

/** How the loader shows a path (relative to the working directory). */
const shown = (p: string) => relative(process.cwd(), p) || p;

/** The ProfileError message of loading and compiling `dir`. */
function profileError(dir: string): string {
  try {
    compileProfile(loadProfile(dir));
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    expect((e as ProfileError).code).toBe('PROFILE_INVALID');
    return (e as Error).message;
  }
  throw new Error(`expected ${dir} to be refused`);
}

/** Expect the message to start with "<file>: <key>:" and to contain every fragment. */
function expectNames(msg: string, file: string, key: string, ...fragments: string[]): void {
  if (!msg.startsWith(`${shown(file)}: ${key}:`)) throw new Error(`"${msg}" does not start with "${shown(file)}: ${key}:"`);
  for (const f of fragments) expect(msg).toContain(f);
}

const param = (spec: string) => `Device.X.:\n  params:\n    A: ${spec}\n`;

describe('profile.yaml errors', () => {
  it('the test profile itself is valid', () => {
    const t = compileProfile(loadProfile(withModel(GOOD_MODEL)));
    expect(t.rootName).toBe('Device');
  });

  it('bad OUI', () => {
    for (const oui of ['0c5a9e', '0C5A9', '0C5A9EE', 'GGGGGG']) {
      const dir = withProfile(PROFILE.replace('"0C5A9E"', `"${oui}"`));
      expectNames(profileError(dir), join(dir, 'profile.yaml'), 'identity.oui', JSON.stringify(oui), '6 upper-case hex digits');
    }
  });

  it('serialPattern without {index}', () => {
    const dir = withProfile(PROFILE.replace('T{index:06}', 'T{hex:8}'));
    expectNames(profileError(dir), join(dir, 'profile.yaml'), 'identity.serialPattern', 'T{hex:8}', 'no {index}');
  });

  it('serialPattern with an unknown placeholder', () => {
    const dir = withProfile(PROFILE.replace('T{index:06}', 'T{index}{mac}'));
    expectNames(profileError(dir), join(dir, 'profile.yaml'), 'identity.serialPattern', '{mac}');
  });

  it('unknown top-level key, bad root, missing identity field', () => {
    let dir = withProfile(`${PROFILE}colour: red\n`);
    expectNames(profileError(dir), join(dir, 'profile.yaml'), 'colour', 'unknown key');
    dir = withProfile(PROFILE.replace('root: Device', 'root: Device2'));
    expectNames(profileError(dir), join(dir, 'profile.yaml'), 'root', 'Device or InternetGatewayDevice');
    dir = withProfile(PROFILE.replace('  manufacturer: "Test Networks"\n', ''));
    expectNames(profileError(dir), join(dir, 'profile.yaml'), 'identity.manufacturer', 'missing');
  });

  it('bad pools', () => {
    let dir = withProfile(PROFILE.replace('cidr: "100.64.0.0/10"', 'cidr: "100.64.0.0"'));
    expectNames(profileError(dir), join(dir, 'profile.yaml'), 'pools.ipv4.wan.cidr', 'IPv4 CIDR');
    dir = withProfile(PROFILE.replace('base: "02:00:00:00:00:00"', 'base: "02:00:00"'));
    expectNames(profileError(dir), join(dir, 'profile.yaml'), 'pools.mac.base', 'MAC address');
  });

  it('missing profile.yaml', () => {
    const dir = profileDir({ 'model/a.yaml': GOOD_MODEL });
    const msg = profileError(dir);
    expect(msg.startsWith(`${shown(join(dir, 'profile.yaml'))}: cannot read`)).toBe(true);
  });

  it('missing profile folder', () => {
    const dir = join(tmpdir(), 'cpe-sim-no-such-profile-folder');
    expect(profileError(dir)).toContain(`no such folder "${dir}"`);
  });

  it('YAML syntax error in profile.yaml: file and line', () => {
    const dir = withProfile(PROFILE.replace('  oui: "0C5A9E"\n', '  oui: "0C5A9E\n'));
    const msg = profileError(dir);
    expect(msg.startsWith(`${shown(join(dir, 'profile.yaml'))}: YAML error at line `)).toBe(true);
    expect(msg).toMatch(/line \d+/);
  });
});

describe('model file errors', () => {
  const a = (dir: string) => join(dir, 'model/a.yaml');

  it('unknown type, short and long form', () => {
    let dir = withModel(param('uint R 1'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.type', 'unknown type "uint"', 'unsignedInt');
    dir = withModel(param('{ type: uint }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.type', 'unknown type "uint"');
  });

  it('bad access, short and long form', () => {
    let dir = withModel(param('string RW x'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.access', 'expected R or W', '"RW"');
    dir = withModel(param('{ type: string, access: rw }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.access', '"rw"');
  });

  it('unknown key in a param', () => {
    const dir = withModel(param('{ type: string, colour: red }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.colour', 'unknown key', 'maxLength');
  });

  // Keys of an object are named "<object path><key>" like those of its parameters
  // ("Device.X.params.A.type"), not "Device.X..access".
  it('object-level keys: writable single object, unknown key, bad instances, params not a map, bad param name', () => {
    let dir = withModel('Device.X.:\n  access: W\n');
    expectNames(profileError(dir), a(dir), 'Device.X.access', 'only a table');
    dir = withModel('Device.X.:\n  instances: 2\n');
    expectNames(profileError(dir), a(dir), 'Device.X.instances', 'unknown key');
    dir = withModel('Device.T.{i}.:\n  instances: { min: 4, max: 2 }\n');
    expectNames(profileError(dir), a(dir), 'Device.T.{i}.instances', 'max must be >= min');
    dir = withModel('Device.X.:\n  params: [1]\n');
    expectNames(profileError(dir), a(dir), 'Device.X.params', 'expected a map');
    dir = withModel('Device.X.:\n  params:\n    "A B": string R x\n');
    expectNames(profileError(dir), a(dir), 'Device.X.params.A B', 'bad parameter name');
  });

  it('bad template function', () => {
    const dir = withModel(param('string R {{frob(1)}}'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.value', '{{frob(1)}}', 'unknown function "frob"');
  });

  it('template using i outside a table (and i2 in a one-level table)', () => {
    let dir = withModel(param('string R row-{{i}}'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.value', 'no table row "i"');
    dir = withModel('Device.T.{i}.:\n  instances: 2\n  params:\n    A: string R {{i2}}\n');
    expectNames(profileError(dir), a(dir), 'Device.T.{i}.params.A.value', 'no table row "i2"');
    // ...while {{i}} inside a table is fine
    dir = withModel('Device.T.{i}.:\n  instances: 2\n  params:\n    A: string R row-{{i}}\n');
    expect(compileProfile(loadProfile(dir)).rootName).toBe('Device');
  });

  it('unknown pool in ipv4() and ipv6()', () => {
    let dir = withModel(param('string R {{ipv4(dmz, 0)}}'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.value', 'no ipv4 pool "dmz"', 'have: wan');
    dir = withModel(param('string R {{ipv6(wan, 0)}}'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.value', 'no ipv6 pool "wan"');
  });

  it('unclosed template and unknown name', () => {
    let dir = withModel(param('string R {{serial'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.value', 'unclosed');
    dir = withModel(param('string R {{serialNumber}}'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.value', 'unknown name "serialNumber"');
  });

  it('bad generator kind', () => {
    const dir = withModel(param('{ type: unsignedInt, gen: { sawtooth: { period: 5 } } }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.gen', 'unknown generator "sawtooth"');
    const dir2 = withModel(param('{ type: unsignedInt, gen: sawtooth }'));
    expectNames(profileError(dir2), a(dir2), 'Device.X.params.A.gen', 'expected uptime, clock');
  });

  it('generator with a bad setting', () => {
    let dir = withModel(param('{ type: unsignedInt, gen: { counter: { rate: fast } } }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.gen.counter.rate', 'expected a number', '"fast"');
    dir = withModel(param('{ type: unsignedInt, gen: { counter: { rate: 5, speed: 2 } } }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.gen.counter.speed', 'unknown key');
    dir = withModel(param('{ type: unsignedInt, gen: { counter: { rate: 5, spread: 2 } } }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.gen.counter.spread', '[0, 1]');
    dir = withModel(param('{ type: int, gen: { drift: { min: 10, max: 5 } } }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.gen.drift', 'max must be >= min');
    dir = withModel(param('{ type: string, gen: { counter: { rate: 5 } } }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.gen.counter', 'numeric type');
    dir = withModel(param('{ type: unsignedInt, gen: clock }'));
    expectNames(profileError(dir), a(dir), 'Device.X.params.A.gen', 'clock needs type dateTime');
  });

  it('YAML syntax error: file and line', () => {
    const dir = profileDir({
      'profile.yaml': PROFILE,
      'model/a.yaml': GOOD_MODEL,
      'model/b.yaml': 'Device.X.:\n  params:\n    A: string R x\n   B: [unclosed\n',
    });
    const msg = profileError(dir);
    expect(msg.startsWith(`${shown(join(dir, 'model/b.yaml'))}: YAML error at line 4`)).toBe(true);
  });

  it('the same key twice in one file is a YAML error', () => {
    const dir = withModel('Device.X.:\n  params:\n    A: string R x\nDevice.X.:\n  params:\n    B: string R y\n');
    const msg = profileError(dir);
    expect(msg.startsWith(`${shown(a(dir))}: YAML error at line 4`)).toBe(true);
  });

  it('object path not under the root, not ending in ".", with a bad segment', () => {
    let dir = withModel('InternetGatewayDevice.X.:\n  params:\n    A: string R x\n');
    expectNames(profileError(dir), a(dir), 'InternetGatewayDevice.X.', 'must start with the profile root "Device."');
    dir = withModel('Device.X:\n  params:\n    A: string R x\n');
    expectNames(profileError(dir), a(dir), 'Device.X', 'must end with "."');
    dir = withModel('Device.X Y.:\n  params:\n    A: string R x\n');
    expectNames(profileError(dir), a(dir), 'Device.X Y.', 'bad path segment "X Y"');
  });

  it('object declared twice across two files', () => {
    const dir = profileDir({
      'profile.yaml': PROFILE,
      'model/a.yaml': 'Device.X.:\n  params:\n    A: string R x\n',
      'model/b.yaml': 'Device.X.:\n  params:\n    B: string R y\n',
    });
    expectNames(profileError(dir), join(dir, 'model/b.yaml'), 'Device.X.', 'declared twice', `also in ${shown(join(dir, 'model/a.yaml'))}`);
  });

  it('an object used both as a table and as a single object', () => {
    const dir = profileDir({
      'profile.yaml': PROFILE,
      'model/a.yaml': 'Device.X.:\n  params:\n    A: string R x\n',
      'model/b.yaml': 'Device.X.{i}.:\n  instances: 1\n  params:\n    B: string R y\n',
    });
    const msg = profileError(dir);
    expect(msg.startsWith(`${shown(join(dir, 'model/b.yaml'))}: Device.X.{i}.`)).toBe(true);
  });

  it('missing model folder, and a model folder without YAML', () => {
    let dir = profileDir({ 'profile.yaml': PROFILE });
    expect(profileError(dir)).toBe(`${shown(join(dir, 'model'))}: missing (a profile keeps its data model in model/*.yaml)`);
    dir = profileDir({ 'profile.yaml': PROFILE, 'model/README.txt': 'nothing here' });
    expect(profileError(dir)).toContain(`${shown(join(dir, 'model'))}: no .yaml files`);
  });

  it('a constant default value that does not match its type', () => {
    const cases: Array<[string, string]> = [
      ['boolean W yes', '"yes" is not a boolean'],
      ['{ type: boolean, value: "yes" }', '"yes" is not a boolean'],
      ['unsignedInt R -1', 'outside unsignedInt'],
      ['int R 12abc', 'not an integer'],
      ['unsignedInt R 4294967296', 'outside unsignedInt'],
      ['dateTime R yesterday', 'not an xsd:dateTime'],
      ['hexBinary R ABC', 'not hexBinary'],
    ];
    for (const [spec, why] of cases) {
      const dir = withModel(param(spec));
      expectNames(profileError(dir), a(dir), 'Device.X.params.A.value', why);
    }
  });

  it('bad notify, activeNotify, flags, enum, range, maxLength', () => {
    const cases: Array<[string, string, string]> = [
      ['{ type: string, notify: 3 }', 'A.notify', 'expected 0, 1 or 2'],
      ['{ type: string, activeNotify: always }', 'A.activeNotify', 'forceEnabled'],
      ['{ type: string, hidden: "yes" }', 'A.hidden', 'true or false'],
      ['{ type: string, enum: [] }', 'A.enum', 'non-empty list'],
      ['{ type: int, range: [5, 1] }', 'A.range', 'min <= max'],
      ['{ type: string, maxLength: 0 }', 'A.maxLength', 'integer >= 1'],
    ];
    for (const [spec, key, why] of cases) {
      const dir = withModel(param(spec));
      expectNames(profileError(dir), a(dir), `Device.X.params.${key}`, why);
    }
  });
});

// ---- the shipped profiles ----

function allParams(t: Template): ParamNode[] {
  const out: ParamNode[] = [];
  const walk = (o: ObjectNode) => {
    for (const c of o.childList) {
      if (c.kind === 'param') out.push(c);
      else walk(c);
    }
  };
  walk(t.root);
  return out;
}

describe('shipped profiles', () => {
  it('example-tr181-gateway loads and compiles: Device root, >= 400 params, >= 50 generated', () => {
    const spec = loadProfile(exampleProfile);
    const t = compileProfile(spec);
    expect(spec.root).toBe('Device');
    expect(t.rootName).toBe('Device');
    expect(t.paramCount).toBeGreaterThanOrEqual(400);
    const params = allParams(t);
    expect(params.length).toBe(t.paramCount);
    expect(params.filter((p) => p.gen !== undefined).length).toBeGreaterThanOrEqual(50);
    expect(t.forcedInform.map((p) => p.path)).toContain('Device.DeviceInfo.SoftwareVersion');
  });

  it('huawei-bm632w-tr098 loads and compiles with root InternetGatewayDevice', () => {
    const spec = loadProfile(tr098Profile);
    const t = compileProfile(spec);
    expect(spec.root).toBe('InternetGatewayDevice');
    expect(t.rootName).toBe('InternetGatewayDevice');
    expect(t.root.name).toBe('InternetGatewayDevice');
    expect(t.paramCount).toBeGreaterThan(0);
    for (const p of allParams(t)) expect(p.path.startsWith('InternetGatewayDevice.')).toBe(true);
    expect(spec.identity.oui).toMatch(/^[0-9A-F]{6}$/);
  });
});
