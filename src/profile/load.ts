// Read a profile folder (docs/profiles.md) into a validated ProfileSpec. Every error
// names the file and the key path.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import type { Ipv4Pool, Ipv6Pool, PoolsSpec } from '../datamodel/context.js';
import type { ActiveNotify } from '../datamodel/schema.js';
import { XSD_TYPES, type XsdType } from '../datamodel/values.js';
import { ProfileError } from '../util/errors.js';
import { compileSerialPattern, parseIpv4, parseIpv6Prefix, parseMac } from './identity.js';
import { DEFAULT_DIAGNOSTICS_MODEL, DEFAULT_MAX_DOWNLOAD_BYTES, type DiagnosticsModelSpec, type IdentitySpec, type ObjectSpec, type ParamSpec, type ProfileSpec } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Reader {
  constructor(readonly file: string) {}
  fail(key: string, msg: string): never {
    throw new ProfileError(`${this.file}: ${key}: ${msg}`);
  }
  obj(v: unknown, key: string): Obj {
    if (!isObj(v)) this.fail(key, `expected a map, got ${describe(v)}`);
    return v;
  }
  onlyKeys(o: Obj, allowed: string[], key: string): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(key ? `${key}.${k}` : k, `unknown key (expected one of ${allowed.join(', ')})`);
    }
  }
  str(o: Obj, k: string, key: string, dflt?: string): string {
    const v = o[k];
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      this.fail(`${key}.${k}`, 'missing (expected a string)');
    }
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.fail(`${key}.${k}`, `expected a string, got ${describe(v)}`);
  }
  int(o: Obj, k: string, key: string, dflt?: number, min = 0): number {
    const v = o[k];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(`${key}.${k}`, `expected an integer >= ${min}, got ${describe(v)}`);
    return v;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return JSON.stringify(v);
}

function parseYamlFile(path: string, display: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ProfileError(`${display}: cannot read: ${(e as Error).message}`);
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ProfileError(`${display}: YAML error at line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

export function loadProfile(dir: string): ProfileSpec {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new ProfileError(`profile: no such folder "${dir}"`);
  }
  if (!st.isDirectory()) throw new ProfileError(`profile: "${dir}" is not a folder`);
  const display = (p: string) => relative(process.cwd(), p) || p;

  const profilePath = join(dir, 'profile.yaml');
  const r = new Reader(display(profilePath));
  const top = r.obj(parseYamlFile(profilePath, r.file), '(top)');
  r.onlyKeys(top, ['name', 'root', 'identity', 'pools', 'settings'], '');
  const root = r.str(top, 'root', '(top)', 'Device');
  if (root !== 'Device' && root !== 'InternetGatewayDevice') r.fail('root', `expected Device or InternetGatewayDevice, got ${JSON.stringify(root)}`);

  const identity = readIdentity(r, r.obj(top['identity'], 'identity'));
  const pools = readPools(r, top['pools'] === undefined ? {} : r.obj(top['pools'], 'pools'));
  const settingsRaw = top['settings'] === undefined ? {} : r.obj(top['settings'], 'settings');
  r.onlyKeys(settingsRaw, ['periodicInformInterval', 'rebootSeconds', 'previousSoftwareVersion', 'firmwareVersions', 'honorRetryAfter', 'maxDownloadBytes', 'diagnostics'], 'settings');
  const honorRaw = settingsRaw['honorRetryAfter'];
  if (honorRaw !== undefined && typeof honorRaw !== 'boolean') r.fail('settings.honorRetryAfter', `expected true or false, got ${describe(honorRaw)}`);
  const honorRetryAfter = honorRaw !== false;
  const pii = settingsRaw['periodicInformInterval'] === undefined ? undefined : r.int(settingsRaw, 'periodicInformInterval', 'settings', undefined, 1);
  const rebootSeconds = r.int(settingsRaw, 'rebootSeconds', 'settings', 30, 0);
  const maxDownloadBytes = r.int(settingsRaw, 'maxDownloadBytes', 'settings', DEFAULT_MAX_DOWNLOAD_BYTES, 1);
  const diagnostics = readDiagnostics(r, settingsRaw['diagnostics'] === undefined ? {} : r.obj(settingsRaw['diagnostics'], 'settings.diagnostics'));
  const previousSoftwareVersion = settingsRaw['previousSoftwareVersion'] === undefined ? undefined : r.str(settingsRaw, 'previousSoftwareVersion', 'settings');
  const firmwareVersions: Array<{ match: string; version: string }> = [];
  const fv = settingsRaw['firmwareVersions'] ?? [];
  if (!Array.isArray(fv)) r.fail('settings.firmwareVersions', 'expected a list of {match, version}');
  (fv as unknown[]).forEach((item, i) => {
    const key = `settings.firmwareVersions[${i}]`;
    const o = r.obj(item, key);
    r.onlyKeys(o, ['match', 'version'], key);
    const match = r.str(o, 'match', key);
    try {
      new RegExp(match);
    } catch (e) {
      r.fail(`${key}.match`, `not a regular expression: ${(e as Error).message}`);
    }
    firmwareVersions.push({ match, version: r.str(o, 'version', key) });
  });

  const modelDir = join(dir, 'model');
  let files: string[];
  try {
    files = readdirSync(modelDir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  } catch {
    throw new ProfileError(`${display(modelDir)}: missing (a profile keeps its data model in model/*.yaml)`);
  }
  if (files.length === 0) throw new ProfileError(`${display(modelDir)}: no .yaml files`);
  const objects: ObjectSpec[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    const path = join(modelDir, f);
    const fr = new Reader(display(path));
    const doc = parseYamlFile(path, fr.file);
    if (doc === null || doc === undefined) continue;
    const m = fr.obj(doc, '(top)');
    for (const [objPath, body] of Object.entries(m)) {
      const prev = seen.get(objPath);
      if (prev) fr.fail(objPath, `object declared twice (also in ${prev})`);
      seen.set(objPath, fr.file);
      objects.push(readObject(fr, objPath, body, root));
    }
  }
  return {
    dir,
    name: r.str(top, 'name', '(top)', dir),
    root: root as ProfileSpec['root'],
    identity,
    pools,
    settings: { periodicInformInterval: pii, rebootSeconds, previousSoftwareVersion, firmwareVersions, honorRetryAfter, maxDownloadBytes, diagnostics },
    objects,
  };
}

/** settings.diagnostics: what the modelled TR-143 tests draw from (docs/diagnostics.md "Modelled results"). */
function readDiagnostics(r: Reader, o: Obj): DiagnosticsModelSpec {
  const key = 'settings.diagnostics';
  r.onlyKeys(o, ['rttMs', 'lossPercent', 'hops'], key);
  const pair = (k: 'rttMs' | 'hops', dflt: [number, number], min: number): [number, number] => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x) && (x as number) >= min) || (v[0] as number) > (v[1] as number)) {
      r.fail(`${key}.${k}`, `expected [min, max]: integers >= ${min} with min <= max, got ${describe(v)}`);
    }
    return [v[0] as number, v[1] as number];
  };
  const lossPercent = r.int(o, 'lossPercent', key, DEFAULT_DIAGNOSTICS_MODEL.lossPercent, 0);
  if (lossPercent > 100) r.fail(`${key}.lossPercent`, `expected 0..100, got ${lossPercent}`);
  return { rttMs: pair('rttMs', DEFAULT_DIAGNOSTICS_MODEL.rttMs, 1), lossPercent, hops: pair('hops', DEFAULT_DIAGNOSTICS_MODEL.hops, 1) };
}

function readIdentity(r: Reader, o: Obj): IdentitySpec {
  const k = 'identity';
  r.onlyKeys(o, ['manufacturer', 'oui', 'productClass', 'modelName', 'serialPattern', 'hardwareVersion', 'softwareVersion'], k);
  const oui = r.str(o, 'oui', k);
  // TR-069 A.3.3.1: OUI is six hex digits, upper case
  if (!/^[0-9A-F]{6}$/.test(oui)) r.fail(`${k}.oui`, `expected 6 upper-case hex digits, got ${JSON.stringify(oui)}`);
  const serialPattern = r.str(o, 'serialPattern', k);
  try {
    compileSerialPattern(serialPattern, oui);
  } catch (e) {
    r.fail(`${k}.serialPattern`, (e as Error).message);
  }
  const manufacturer = r.str(o, 'manufacturer', k);
  const productClass = r.str(o, 'productClass', k, '');
  for (const [name, v, max] of [['manufacturer', manufacturer, 64], ['productClass', productClass, 64]] as const) {
    if (v.length > max) r.fail(`${k}.${name}`, `longer than ${max} characters (TR-069 A.3.3.1)`);
  }
  return {
    manufacturer,
    oui,
    productClass,
    modelName: r.str(o, 'modelName', k, productClass),
    serialPattern,
    hardwareVersion: r.str(o, 'hardwareVersion', k),
    softwareVersion: r.str(o, 'softwareVersion', k),
  };
}

function readPools(r: Reader, o: Obj): PoolsSpec {
  r.onlyKeys(o, ['mac', 'ipv4', 'ipv6'], 'pools');
  let mac = { base: 0x02_00_00_00_00_00, perCpe: 8 };
  if (o['mac'] !== undefined) {
    const m = r.obj(o['mac'], 'pools.mac');
    r.onlyKeys(m, ['base', 'perCpe'], 'pools.mac');
    const base = parseMac(r.str(m, 'base', 'pools.mac'));
    if (base === undefined) r.fail('pools.mac.base', 'expected a MAC address like 02:5A:9E:00:00:00');
    mac = { base, perCpe: r.int(m, 'perCpe', 'pools.mac', 8, 1) };
  }
  const ipv4: Record<string, Ipv4Pool> = {};
  for (const [name, raw] of Object.entries(o['ipv4'] === undefined ? {} : r.obj(o['ipv4'], 'pools.ipv4'))) {
    const key = `pools.ipv4.${name}`;
    const p = r.obj(raw, key);
    r.onlyKeys(p, ['cidr', 'perCpe'], key);
    const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(r.str(p, 'cidr', key));
    const base = cidr ? parseIpv4(cidr[1]!) : undefined;
    const bits = cidr ? Number(cidr[2]) : -1;
    if (base === undefined || bits < 8 || bits > 30) r.fail(`${key}.cidr`, 'expected an IPv4 CIDR like 100.64.0.0/10 (prefix /8 to /30)');
    const size = 2 ** (32 - bits);
    ipv4[name] = { base: (base & ~(size - 1)) >>> 0, size, perCpe: r.int(p, 'perCpe', key, 1, 0) };
  }
  const ipv6: Record<string, Ipv6Pool> = {};
  for (const [name, raw] of Object.entries(o['ipv6'] === undefined ? {} : r.obj(o['ipv6'], 'pools.ipv6'))) {
    const key = `pools.ipv6.${name}`;
    const p = r.obj(raw, key);
    r.onlyKeys(p, ['prefix', 'perCpe'], key);
    const parsed = parseIpv6Prefix(r.str(p, 'prefix', key));
    if (!parsed) r.fail(`${key}.prefix`, 'expected an IPv6 prefix like 2001:db8::/32 (length up to /64)');
    ipv6[name] = { ...parsed, perCpe: r.int(p, 'perCpe', key, 1, 0) };
  }
  return { mac, ipv4, ipv6 };
}

const PARAM_KEYS = ['type', 'access', 'value', 'gen', 'notify', 'activeNotify', 'forcedInform', 'hidden', 'enum', 'range', 'maxLength'];
const ACTIVE_NOTIFY: ActiveNotify[] = ['normal', 'forceEnabled', 'forceDefaultEnabled', 'canDeny'];

function readObject(r: Reader, path: string, body: unknown, root: string): ObjectSpec {
  if (!path.endsWith('.')) r.fail(path, 'an object path must end with "."');
  const segs = path.slice(0, -1).split('.');
  if (segs[0] !== root) r.fail(path, `must start with the profile root "${root}."`);
  for (const s of segs) {
    if (s !== '{i}' && !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) r.fail(path, `bad path segment "${s}"`);
  }
  if (segs[1] === '{i}') r.fail(path, 'the root cannot be a table');
  const isTable = segs[segs.length - 1] === '{i}';
  const o = body === null || body === undefined ? {} : r.obj(body, path);
  // Keys below an object read `Device.X.instances`, not `Device.X..instances`.
  const key = path.slice(0, -1);
  r.onlyKeys(o, isTable ? ['instances', 'access', 'params'] : ['access', 'params'], key);
  let instances: ObjectSpec['instances'];
  if (isTable) {
    const inst = o['instances'] ?? 0;
    if (typeof inst === 'number') {
      if (!Number.isInteger(inst) || inst < 0) r.fail(`${key}.instances`, 'expected an integer >= 0 or {min, max}');
      instances = { min: inst, max: inst };
    } else {
      const io = r.obj(inst, `${key}.instances`);
      r.onlyKeys(io, ['min', 'max'], `${key}.instances`);
      const min = r.int(io, 'min', `${key}.instances`);
      const max = r.int(io, 'max', `${key}.instances`);
      if (max < min) r.fail(`${key}.instances`, 'max must be >= min');
      instances = { min, max };
    }
  }
  const access = r.str(o, 'access', key, 'R');
  if (access !== 'R' && access !== 'W') r.fail(`${key}.access`, `expected R or W, got ${JSON.stringify(access)}`);
  if (access === 'W' && !isTable) r.fail(`${key}.access`, 'only a table ({i}) can be writable: W means the ACS may add and delete rows');
  const params: ParamSpec[] = [];
  const raw = o['params'] === undefined ? {} : r.obj(o['params'], `${key}.params`);
  for (const [name, spec] of Object.entries(raw)) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) r.fail(`${key}.params.${name}`, 'bad parameter name');
    params.push(readParam(r, name, spec, `${key}.params.${name}`));
  }
  return { path, instances, writable: access === 'W', params, where: `${r.file}: ${path}` };
}

function readType(r: Reader, key: string, t: string): XsdType {
  if (!(XSD_TYPES as readonly string[]).includes(t)) r.fail(key, `unknown type ${JSON.stringify(t)} (expected one of ${XSD_TYPES.join(', ')})`);
  return t as XsdType;
}

function readParam(r: Reader, name: string, spec: unknown, key: string): ParamSpec {
  const base: ParamSpec = {
    name,
    type: 'string',
    writable: false,
    value: '',
    gen: undefined,
    notify: 0,
    activeNotify: 'normal',
    forcedInform: false,
    hidden: false,
    enumValues: undefined,
    range: undefined,
    maxLength: undefined,
    where: `${r.file}: ${key}`,
  };
  if (typeof spec === 'string') {
    // short form: "<type> <R|W> [value...]"
    const m = /^(\S+)\s+(\S+)(?:\s(.*))?$/s.exec(spec.trim());
    if (!m) r.fail(key, `expected "<type> <R|W> [value]" or a map, got ${JSON.stringify(spec)}`);
    base.type = readType(r, `${key}.type`, m[1]!);
    if (m[2] !== 'R' && m[2] !== 'W') r.fail(`${key}.access`, `expected R or W, got ${JSON.stringify(m[2])}`);
    base.writable = m[2] === 'W';
    base.value = m[3] ?? '';
    return base;
  }
  const o = r.obj(spec, key);
  r.onlyKeys(o, PARAM_KEYS, key);
  base.type = readType(r, `${key}.type`, r.str(o, 'type', key));
  const access = r.str(o, 'access', key, 'R');
  if (access !== 'R' && access !== 'W') r.fail(`${key}.access`, `expected R or W, got ${JSON.stringify(access)}`);
  base.writable = access === 'W';
  base.value = r.str(o, 'value', key, '');
  base.gen = o['gen'];
  if (o['notify'] !== undefined) {
    const n = o['notify'];
    if (n !== 0 && n !== 1 && n !== 2) r.fail(`${key}.notify`, `expected 0, 1 or 2, got ${describe(n)}`);
    base.notify = n;
  }
  if (o['activeNotify'] !== undefined) {
    const a = r.str(o, 'activeNotify', key);
    if (!(ACTIVE_NOTIFY as string[]).includes(a)) r.fail(`${key}.activeNotify`, `expected one of ${ACTIVE_NOTIFY.join(', ')}`);
    base.activeNotify = a as ActiveNotify;
  }
  for (const flag of ['forcedInform', 'hidden'] as const) {
    const v = o[flag];
    if (v !== undefined && typeof v !== 'boolean') r.fail(`${key}.${flag}`, `expected true or false, got ${describe(v)}`);
    base[flag] = v === true;
  }
  if (o['enum'] !== undefined) {
    if (!Array.isArray(o['enum']) || o['enum'].length === 0) r.fail(`${key}.enum`, 'expected a non-empty list');
    base.enumValues = (o['enum'] as unknown[]).map(String);
  }
  if (o['range'] !== undefined) {
    const rg = o['range'];
    if (!Array.isArray(rg) || rg.length !== 2 || typeof rg[0] !== 'number' || typeof rg[1] !== 'number' || rg[1] < rg[0]) {
      r.fail(`${key}.range`, 'expected [min, max] with min <= max');
    }
    base.range = [rg[0], rg[1]];
  }
  if (o['maxLength'] !== undefined) base.maxLength = r.int(o, 'maxLength', key, undefined, 1);
  return base;
}
