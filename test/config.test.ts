// Options (src/config): precedence flag > env > YAML file > default, the parsing of every
// kind of value, and refusals that name the key, where it came from and the form expected.
// Plus a few runs of the real CLI for its exit codes and output.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig, parseValue } from '../src/config/load.js';
import { OPTIONS, toEnv, toKebab, type Config } from '../src/config/options.js';
import { ConfigError } from '../src/util/errors.js';
import { repoRoot } from './helpers/harness.js';

let tmp = '';
let n = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cpe-sim-config-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Write a YAML --config file and return its path. */
function yamlFile(text: string): string {
  const p = join(tmp, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}

const MOCK = { mockAcs: '127.0.0.1:0' };

function load(flags: Record<string, unknown> = {}, env: Record<string, string> = {}): Config {
  return loadConfig({ flags, env });
}

/** The message of the ConfigError thrown by fn (fails the test if none). */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('CONFIG_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const kindOf = (key: string) => OPTIONS.find((o) => o.key === key)!.kind;
const parsed = (key: string, raw: unknown) => parseValue(kindOf(key), raw);
const good = (key: string, raw: unknown) => {
  const r = parsed(key, raw);
  if (!r.ok) throw new Error(`${key}: ${JSON.stringify(raw)} was refused`);
  return r.value;
};

describe('precedence: flag > env > file > default', () => {
  // [key, file value (YAML), env value, flag value, then the expected parsed default/file/env/flag]
  const cases: Array<[string, string, string, string, unknown, unknown, unknown, unknown]> = [
    ['cpes', '200', '300', '400', 100, 200, 300, 400],
    ['logLevel', 'warn', 'debug', 'trace', 'info', 'warn', 'debug', 'trace'],
    [
      'bootRamp',
      '"2m"',
      '30s',
      '0',
      { mode: 'rate', perSecond: 200 },
      { mode: 'window', seconds: 120 },
      { mode: 'window', seconds: 30 },
      { mode: 'none' },
    ],
    [
      'crBindAddr',
      '"0.0.0.0:9000"',
      '[::1]:7549',
      'localhost:7550',
      { host: '127.0.0.1', port: 7548 },
      { host: '0.0.0.0', port: 9000 },
      { host: '::1', port: 7549 },
      { host: 'localhost', port: 7550 },
    ],
    ['crRateLimit', '"5/30s"', '3/10s', '1/1s', { count: 10, periodSec: 60 }, { count: 5, periodSec: 30 }, { count: 3, periodSec: 10 }, { count: 1, periodSec: 1 }],
    ['acsUrl', 'http://file.example/acs', 'https://env.example:8443/acs', 'http://flag.example:7547/', undefined, 'http://file.example/acs', 'https://env.example:8443/acs', 'http://flag.example:7547/'],
  ];

  it.each(cases)('%s: each step overrides the one below it', (key, fileVal, envVal, flagVal, dflt, fromFile, fromEnv, fromFlag) => {
    const get = (c: Config) => (c as unknown as Record<string, unknown>)[key];
    const config = yamlFile(`${key}: ${fileVal}\n`);
    // default
    expect(get(load({ ...MOCK }))).toEqual(dflt);
    // file beats default
    expect(get(load({ ...MOCK, config }))).toEqual(fromFile);
    // env beats file
    expect(get(load({ ...MOCK, config }, { [toEnv(key)]: envVal }))).toEqual(fromEnv);
    // flag beats env (and file)
    expect(get(load({ ...MOCK, config, [key]: flagVal }, { [toEnv(key)]: envVal }))).toEqual(fromFlag);
    // flag beats file without env; env beats default without file
    expect(get(load({ ...MOCK, config, [key]: flagVal }))).toEqual(fromFlag);
    expect(get(load({ ...MOCK }, { [toEnv(key)]: envVal }))).toEqual(fromEnv);
  });

  it('takes each key from its own best source in one load', () => {
    const config = yamlFile('cpes: 7\nseed: 9\nlogFormat: text\nmaxSessions: 5\n');
    const c = load({ ...MOCK, config, cpes: '8' }, { CPE_SIM_SEED: '10' });
    expect(c.cpes).toBe(8);
    expect(c.seed).toBe(10);
    expect(c.logFormat).toBe('text');
    expect(c.maxSessions).toBe(5);
    expect(c.fleetOffset).toBe(0);
  });

  it('reads the file named by CPE_SIM_CONFIG, and --config beats it', () => {
    const a = yamlFile('cpes: 11\n');
    const b = yamlFile('cpes: 22\n');
    expect(load({ ...MOCK }, { CPE_SIM_CONFIG: a }).cpes).toBe(11);
    expect(load({ ...MOCK, config: b }, { CPE_SIM_CONFIG: a }).cpes).toBe(22);
  });

  it('treats an empty file and a null value as absent', () => {
    expect(load({ ...MOCK, config: yamlFile('') }).cpes).toBe(100);
    expect(load({ ...MOCK, config: yamlFile('cpes:\nseed: ~\n') }).cpes).toBe(100);
  });

  it('ignores environment variables outside CPE_SIM_', () => {
    expect(load({ ...MOCK }, { PATH: '/bin', CPES: 'x', cpe_sim_cpes: 'y' }).cpes).toBe(100);
  });
});

describe('value parsing', () => {
  it('int: bounds, no signs, no fractions, YAML numbers, surrounding blanks', () => {
    expect(good('cpes', '1')).toBe(1);
    expect(good('cpes', '10000000')).toBe(10_000_000);
    expect(good('cpes', ' 42 ')).toBe(42);
    expect(good('cpes', 250)).toBe(250);
    for (const bad of ['0', '10000001', '-5', '1.5', '12abc', '', 'ten', '1e3']) expect(parsed('cpes', bad).ok).toBe(false);
    expect(good('seed', '0')).toBe(0);
    expect(good('seed', '4294967295')).toBe(4294967295);
    expect(parsed('seed', '4294967296').ok).toBe(false);
    expect(good('shards', '256')).toBe(256);
    expect(parsed('shards', '257').ok).toBe(false);
    expect(good('fleetOffset', '123456789')).toBe(123456789);
    expect(parsed('fleetOffset', '99999999999999999999').ok).toBe(false); // not a safe integer
  });

  it('bool: true/1/yes and false/0/no, any case; anything else refused', () => {
    for (const t of ['true', 'TRUE', '1', 'yes', 'Yes', true]) expect(good('version', t)).toBe(true);
    for (const f of ['false', 'False', '0', 'no', false]) expect(good('version', f)).toBe(false);
    for (const bad of ['maybe', 'on', '', '2']) expect(parsed('version', bad).ok).toBe(false);
  });

  it('enum: exact values only', () => {
    for (const v of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(good('logLevel', v)).toBe(v);
    for (const bad of ['verbose', 'INFO', 'Info', '']) expect(parsed('logLevel', bad).ok).toBe(false);
    expect(good('logFormat', 'text')).toBe('text');
    expect(parsed('logFormat', 'yaml').ok).toBe(false);
  });

  it('url: http and https with a host, normalised', () => {
    expect(good('acsUrl', 'http://acs.example:7547/cwmp')).toBe('http://acs.example:7547/cwmp');
    expect(good('acsUrl', 'https://acs.example')).toBe('https://acs.example/');
    expect(good('acsUrl', 'http://[::1]:7547/')).toBe('http://[::1]:7547/');
    for (const bad of ['ftp://acs.example/', 'acs.example:7547', 'not a url', 'http://', 'ws://acs/', 'file:///etc/passwd']) {
      expect(parsed('acsUrl', bad).ok).toBe(false);
    }
  });

  it('host:port: names, IPv4, bracketed IPv6, port 0..65535', () => {
    expect(good('crBindAddr', '127.0.0.1:7548')).toEqual({ host: '127.0.0.1', port: 7548 });
    expect(good('crBindAddr', '[::1]:7548')).toEqual({ host: '::1', port: 7548 });
    expect(good('crBindAddr', '[fe80::1]:80')).toEqual({ host: 'fe80::1', port: 80 });
    expect(good('mockAcs', 'localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(good('mockAcs', 'gw.example:65535')).toEqual({ host: 'gw.example', port: 65535 });
    for (const bad of ['::1:7548', '127.0.0.1', '127.0.0.1:65536', ':7548', '[::1]', 'host:port', '1.2.3.4:123456', 'a b:80']) {
      expect(parsed('crBindAddr', bad).ok).toBe(false);
    }
  });

  it('seconds: non-negative decimals above the minimum', () => {
    expect(good('acsTimeout', '30')).toBe(30);
    expect(good('acsTimeout', '2.5')).toBe(2.5);
    expect(good('acsTimeout', 10)).toBe(10);
    expect(parsed('acsTimeout', '0').ok).toBe(false); // min 1
    expect(parsed('acsTimeout', '0.5').ok).toBe(false);
    expect(good('duration', '0')).toBe(0);
    for (const bad of ['-1', '30s', 'abc', '', '1e2']) expect(parsed('duration', bad).ok).toBe(false);
  });

  it('bootRamp: "<n>/s", "<n>s", "<n>m" or 0', () => {
    expect(good('bootRamp', '500/s')).toEqual({ mode: 'rate', perSecond: 500 });
    expect(good('bootRamp', '0.5/s')).toEqual({ mode: 'rate', perSecond: 0.5 });
    expect(good('bootRamp', '2m')).toEqual({ mode: 'window', seconds: 120 });
    expect(good('bootRamp', '30s')).toEqual({ mode: 'window', seconds: 30 });
    expect(good('bootRamp', '0')).toEqual({ mode: 'none' });
    expect(good('bootRamp', 0)).toEqual({ mode: 'none' });
    for (const bad of ['0/s', '0s', '0m', 'fast', '500', '-1/s', '5h', '/s', '500/m']) expect(parsed('bootRamp', bad).ok).toBe(false);
  });

  it('crRateLimit: "<count>/<seconds>s"', () => {
    expect(good('crRateLimit', '3/10s')).toEqual({ count: 3, periodSec: 10 });
    expect(good('crRateLimit', '10/60s')).toEqual({ count: 10, periodSec: 60 });
    expect(good('crRateLimit', '1/0.5s')).toEqual({ count: 1, periodSec: 0.5 });
    for (const bad of ['0/10s', '3/0s', '3/10', '3 per 10s', '3/10m', '1.5/10s', '']) expect(parsed('crRateLimit', bad).ok).toBe(false);
  });

  it('string and secret: taken as given (trimmed); maps and lists refused', () => {
    expect(good('acsUsername', ' admin ')).toBe('admin');
    expect(good('acsPassword', 'p@ss word')).toBe('p@ss word');
    expect(parsed('acsUsername', { a: 1 }).ok).toBe(false);
    expect(parsed('profile', ['a', 'b']).ok).toBe(false);
  });

  it('loadConfig returns the parsed forms', () => {
    const c = load({ ...MOCK, cpes: '5000', bootRamp: '500/s', crRateLimit: '3/10s', crBindAddr: '[::1]:7548', version: true });
    expect(c.cpes).toBe(5000);
    expect(c.bootRamp).toEqual({ mode: 'rate', perSecond: 500 });
    expect(c.crRateLimit).toEqual({ count: 3, periodSec: 10 });
    expect(c.crBindAddr).toEqual({ host: '::1', port: 7548 });
    expect(c.mockAcs).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.version).toBe(true);
  });
});

describe('refusals', () => {
  it('refuses an unknown flag', () => {
    expect(configError(() => load({ ...MOCK, bogusKey: '1' }))).toContain('unknown flag --bogus-key');
  });

  it('refuses an unknown CPE_SIM_ environment variable, listing the known ones', () => {
    const m = configError(() => load({ ...MOCK }, { CPE_SIM_FOO: '1' }));
    expect(m).toContain('CPE_SIM_FOO');
    expect(m).toContain('CPE_SIM_CPES');
  });

  it('refuses an unknown YAML key, with a did-you-mean hint when close to a real one', () => {
    const f1 = yamlFile('acs_url: http://acs/\n');
    const m1 = configError(() => load({ ...MOCK, config: f1 }));
    expect(m1).toContain(f1);
    expect(m1).toContain('unknown key "acs_url"');
    expect(m1).toContain('did you mean "acsUrl"');
    expect(configError(() => load({ ...MOCK, config: yamlFile('max-sessions: 5\n') }))).toContain('did you mean "maxSessions"');
    const m3 = configError(() => load({ ...MOCK, config: yamlFile('colour: red\n') }));
    expect(m3).toContain('unknown key "colour"');
    expect(m3).not.toContain('did you mean');
    // the file's own path is not a file key
    expect(configError(() => load({ ...MOCK, config: yamlFile('config: other.yaml\n') }))).toContain('"config" cannot be set inside the config file');
  });

  it('names the key and the source of a bad value', () => {
    const fromEnv = configError(() => load({ ...MOCK }, { CPE_SIM_CPES: 'abc' }));
    expect(fromEnv).toContain('cpes');
    expect(fromEnv).toContain('env CPE_SIM_CPES');
    expect(fromEnv).toContain('"abc"');
    expect(fromEnv).toContain('an integer from 1 to 10000000');

    const fromFlag = configError(() => load({ ...MOCK, crRateLimit: '3/10' }));
    expect(fromFlag).toContain('crRateLimit (flag --cr-rate-limit)');
    expect(fromFlag).toContain('<count>/<seconds>s');

    const file = yamlFile('bootRamp: fast\n');
    const fromFile = configError(() => load({ ...MOCK, config: file }));
    expect(fromFile).toContain(`bootRamp (file ${file})`);
    expect(fromFile).toContain('"fast"');

    expect(configError(() => load({ ...MOCK }, { CPE_SIM_LOG_LEVEL: 'verbose' }))).toMatch(/logLevel \(env CPE_SIM_LOG_LEVEL\).*one of fatal, error/);
    expect(configError(() => load({ ...MOCK, acsUrl: 'ftp://x/' }))).toMatch(/acsUrl \(flag --acs-url\).*http:\/\/ or https:\/\//);
    expect(configError(() => load({ mockAcs: '::1:7548' }))).toMatch(/mockAcs \(flag --mock-acs\).*\[::1\]:7548/);
    expect(configError(() => load({ ...MOCK, acsTimeout: '0' }))).toMatch(/acsTimeout \(flag --acs-timeout\).*seconds >= 1/);
    expect(configError(() => load({ ...MOCK, version: 'maybe' }))).toMatch(/version \(flag --version\).*true or false/);
  });

  it('a bad value in a lower source is still refused when a higher one does not override it', () => {
    const file = yamlFile('seed: -1\n');
    expect(configError(() => load({ ...MOCK, config: file }))).toContain(`seed (file ${file})`);
    // once overridden, the file's bad value no longer matters
    expect(load({ ...MOCK, config: file }, { CPE_SIM_SEED: '3' }).seed).toBe(3);
  });

  it('requires acsUrl unless mockAcs (or --version) is given', () => {
    const m = configError(() => load({}));
    expect(m).toContain('acsUrl');
    expect(m).toContain('--mock-acs');
    expect(load({ ...MOCK }).acsUrl).toBeUndefined();
    expect(load({ acsUrl: 'http://acs.example/' }).mockAcs).toBeUndefined();
    expect(load({}, { CPE_SIM_ACS_URL: 'http://acs.example/' }).acsUrl).toBe('http://acs.example/');
    expect(load({ version: true }).version).toBe(true);
  });

  it('never echoes a secret in an error', () => {
    const file = yamlFile('acsPassword: { pass: hunter2-file }\n');
    const m1 = configError(() => load({ ...MOCK, config: file }));
    expect(m1).toContain('acsPassword');
    expect(m1).not.toContain('hunter2');
    expect(m1).toContain('(hidden)');

    const m2 = configError(() => load({ ...MOCK, crSecret: ['s3cr3t-one', 's3cr3t-two'] }));
    expect(m2).toContain('crSecret (flag --cr-secret)');
    expect(m2).not.toContain('s3cr3t');

    // an unknown key's value is not shown either
    const m3 = configError(() => load({ ...MOCK, config: yamlFile('acs_password: hunter2-typo\n') }));
    expect(m3).toContain('did you mean "acsPassword"');
    expect(m3).not.toContain('hunter2');

    // a failure elsewhere does not drag valid secrets into the message
    const m4 = configError(() => load({ ...MOCK, cpes: 'x', acsPassword: 'hunter2-ok', crSecret: 'topsecret' }, { CPE_SIM_ACS_PASSWORD: 'hunter2-env' }));
    expect(m4).not.toMatch(/hunter2|topsecret/);
  });

  it('refuses a YAML file that is not a map, is not YAML, or cannot be read', () => {
    const list = yamlFile('- cpes\n- 5\n');
    expect(configError(() => load({ ...MOCK, config: list }))).toContain(`${list} must be a map`);
    const scalar = yamlFile('hello\n');
    expect(configError(() => load({ ...MOCK, config: scalar }))).toContain(`${scalar} must be a map`);
    const broken = yamlFile('cpes: [1, 2\n');
    expect(configError(() => load({ ...MOCK, config: broken }))).toContain(`${broken} is not valid YAML`);
    const missing = join(tmp, 'does-not-exist.yaml');
    expect(configError(() => load({ ...MOCK, config: missing }))).toContain(`cannot read --config file ${missing}`);
  });
});

describe('USP options (--usp-*)', () => {
  const caFile = () => {
    const p = join(tmp, 'usp-ca.pem');
    writeFileSync(p, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    return p;
  };
  // [key, env name, raw value, parsed value]
  const cases: Array<[string, string, string, unknown]> = [
    ['uspBroker', 'CPE_SIM_USP_BROKER', 'mqtt://broker.example:1883', { mode: 'url', url: 'mqtt://broker.example:1883' }],
    ['uspEmbeddedBind', 'CPE_SIM_USP_EMBEDDED_BIND', '127.0.0.1:1884', { host: '127.0.0.1', port: 1884 }],
    ['uspEndpointId', 'CPE_SIM_USP_ENDPOINT_ID', 'proto::{productClass}-{index}', 'proto::{productClass}-{index}'],
    ['uspControllerId', 'CPE_SIM_USP_CONTROLLER_ID', 'self::my-controller', 'self::my-controller'],
    ['uspControllerTopic', 'CPE_SIM_USP_CONTROLLER_TOPIC', '/lab/controller', '/lab/controller'],
    ['uspAgentTopic', 'CPE_SIM_USP_AGENT_TOPIC', '/lab/{oui}/{endpointId}', '/lab/{oui}/{endpointId}'],
    ['uspMqttVersion', 'CPE_SIM_USP_MQTT_VERSION', '3.1.1', '3.1.1'],
    ['uspMqttUsername', 'CPE_SIM_USP_MQTT_USERNAME', 'agent-{index}', 'agent-{index}'],
    ['uspMqttPassword', 'CPE_SIM_USP_MQTT_PASSWORD', 'shared pw', 'shared pw'],
    ['uspMqttSecret', 'CPE_SIM_USP_MQTT_SECRET', 's3cret', 's3cret'],
    ['uspCaFile', 'CPE_SIM_USP_CA_FILE', '<ca>', '<ca>'],
  ];

  it.each(cases)('%s is accepted as a flag, as %s and as a YAML key', (key, envName, raw0, parsed0) => {
    const raw = raw0 === '<ca>' ? caFile() : raw0;
    const want = parsed0 === '<ca>' ? raw : parsed0;
    const get = (c: Config) => (c as unknown as Record<string, unknown>)[key];
    expect(toEnv(key)).toBe(envName);
    expect(get(load({ ...MOCK, [key]: raw }))).toEqual(want);
    expect(get(load({ ...MOCK }, { [envName]: raw }))).toEqual(want);
    expect(get(load({ ...MOCK, config: yamlFile(`${key}: ${JSON.stringify(raw)}\n`) }))).toEqual(want);
    // the flag still beats the environment
    if (key !== 'uspCaFile') expect(get(load({ ...MOCK, [key]: raw }, { [envName]: 'x' }))).toEqual(want);
  });

  it('has the documented defaults', () => {
    const c = load({ ...MOCK });
    expect(c.uspBroker).toBeUndefined();
    expect(c.uspEmbeddedBind).toEqual({ host: '127.0.0.1', port: 1883 });
    expect(c.uspEndpointId).toBe('os::{oui}-{serial}');
    expect(c.uspControllerId).toBe('self::usp-controller');
    expect(c.uspControllerTopic).toBe('/usp/controller');
    expect(c.uspAgentTopic).toBe('/usp/agent/{endpointId}');
    expect(c.uspMqttVersion).toBe('5');
    expect(c.uspMqttUsername).toBeUndefined();
    expect(c.uspMqttPassword).toBeUndefined();
    expect(c.uspMqttSecret).toBeUndefined();
    expect(c.uspCaFile).toBeUndefined();
  });

  it('--usp-broker: "embedded", mqtt://host:port or mqtts://host:port', () => {
    expect(load({ uspBroker: 'embedded' }).uspBroker).toEqual({ mode: 'embedded' });
    expect(load({ uspBroker: 'mqtt://127.0.0.1:1883' }).uspBroker).toEqual({ mode: 'url', url: 'mqtt://127.0.0.1:1883' });
    expect(load({ uspBroker: 'mqtts://broker.example:8883' }).uspBroker).toEqual({ mode: 'url', url: 'mqtts://broker.example:8883' });
    for (const bad of ['http://x', 'foo', 'mqtt://', 'ws://broker:80', '']) {
      const m = configError(() => load({ ...MOCK, uspBroker: bad }));
      expect(m).toContain(`uspBroker (flag --usp-broker): expected "embedded" or a URL (mqtt://host:port or mqtts://host:port; stomp://host:port or stomps://host:port with --usp-mtp stomp), got ${JSON.stringify(bad)}`);
    }
    expect(configError(() => load({ ...MOCK }, { CPE_SIM_USP_BROKER: 'foo' }))).toContain('uspBroker (env CPE_SIM_USP_BROKER)');
  });

  it('--usp-mtp and its endpoint options agree', () => {
    expect(load({ ...MOCK }).uspMtp).toBe('mqtt');
    const ws = load({ uspMtp: 'websocket', uspControllerUrl: 'ws://127.0.0.1:9000/usp' });
    expect([ws.uspMtp, ws.uspControllerUrl, ws.uspBroker]).toEqual(['websocket', 'ws://127.0.0.1:9000/usp', undefined]);
    expect(load({ uspMtp: 'websocket', uspWsListen: '127.0.0.1:9100' }).uspWsListen).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(load({ uspMtp: 'stomp', uspBroker: 'stomp://127.0.0.1:61613' }).uspBroker).toEqual({ mode: 'url', url: 'stomp://127.0.0.1:61613' });
    expect(configError(() => load({ uspControllerUrl: 'ws://127.0.0.1:9000/usp' }))).toContain('config: uspControllerUrl: applies to the WebSocket MTP only; give --usp-mtp websocket too');
    expect(configError(() => load({ uspBroker: 'stomp://127.0.0.1:61613' }))).toContain('config: uspBroker: stomp:// is a STOMP broker; give --usp-mtp stomp too');
    expect(configError(() => load({ uspMtp: 'stomp', uspBroker: 'embedded' }))).toContain('config: uspBroker: --usp-mtp stomp needs a STOMP broker URL (stomp://host:port or stomps://host:port), not "embedded"');
    expect(configError(() => load({ uspMtp: 'websocket', uspBroker: 'mqtt://127.0.0.1:1883' }))).toContain('config: uspBroker: the WebSocket MTP has no broker');
    expect(configError(() => load({ uspMtp: 'websocket' }))).toContain('config: uspMtp: websocket needs exactly one of --usp-controller-url');
    expect(configError(() => load({ uspMtp: 'websocket', uspControllerUrl: 'ws://a:1/', uspWsListen: '127.0.0.1:0' }))).toContain('config: uspMtp: websocket needs exactly one of');
    expect(configError(() => load({ uspMtp: 'websocket', uspControllerUrl: 'http://a:1/' }))).toContain('uspControllerUrl (flag --usp-controller-url): expected a URL (ws:// or wss://host[:port]/path)');
    expect(configError(() => load({ ...MOCK, uspCert: caFile() }))).toContain('config: uspCert: set without uspKey');
  });

  it('--usp-agent-topic must contain {endpointId}', () => {
    const m = configError(() => load({ ...MOCK, uspAgentTopic: '/usp/agent/{serial}' }));
    expect(m).toContain('uspAgentTopic (flag --usp-agent-topic)');
    expect(m).toContain('a non-empty pattern containing {endpointId}');
    expect(m).toContain('"/usp/agent/{serial}"');
    expect(configError(() => load({ ...MOCK, uspAgentTopic: '' }))).toContain('uspAgentTopic');
  });

  it('--usp-mqtt-version is 3.1.1 or 5', () => {
    expect(load({ ...MOCK, uspMqttVersion: '5' }).uspMqttVersion).toBe('5');
    expect(load({ ...MOCK, config: yamlFile('uspMqttVersion: 5\n') }).uspMqttVersion).toBe('5'); // a YAML number
    for (const bad of ['4', '3', '3.1', 'v5']) {
      expect(configError(() => load({ ...MOCK, uspMqttVersion: bad }))).toContain(`uspMqttVersion (flag --usp-mqtt-version): expected one of 3.1.1, 5, got "${bad}"`);
    }
  });

  it('the embedded broker speaks 3.1.1: an explicit version 5 is refused, no version means 3.1.1', () => {
    expect(load({ uspBroker: 'embedded' }).uspMqttVersion).toBe('3.1.1');
    expect(load({ uspBroker: 'embedded', uspMqttVersion: '3.1.1' }).uspMqttVersion).toBe('3.1.1');
    expect(load({ uspBroker: 'mqtt://127.0.0.1:1883' }).uspMqttVersion).toBe('5');
    const explicit = [
      () => load({ uspBroker: 'embedded', uspMqttVersion: '5' }),
      () => load({ uspBroker: 'embedded' }, { CPE_SIM_USP_MQTT_VERSION: '5' }),
      () => load({ uspBroker: 'embedded', config: yamlFile('uspMqttVersion: "5"\n') }),
      () => load({ config: yamlFile('uspBroker: embedded\nuspMqttVersion: 5\n') }),
    ];
    for (const fn of explicit) {
      const m = configError(fn);
      expect(m).toContain('uspMqttVersion');
      expect(m).toContain('speaks MQTT 3.1.1 only');
      expect(m).toContain('--usp-mqtt-version 3.1.1');
    }
  });

  it('--usp-broker alone makes a USP-only fleet; with neither it nor an ACS the config fails naming acsUrl', () => {
    const c = load({ uspBroker: 'mqtt://127.0.0.1:1883' });
    expect(c.acsUrl).toBeUndefined();
    expect(c.mockAcs).toBeUndefined();
    expect(c.uspBroker).toEqual({ mode: 'url', url: 'mqtt://127.0.0.1:1883' });
    expect(load({}, { CPE_SIM_USP_BROKER: 'embedded' }).uspBroker).toEqual({ mode: 'embedded' });
    const m = configError(() => load({ uspEndpointId: 'x::{serial}' }));
    expect(m).toContain('config: acsUrl: missing');
    expect(m).toContain('--usp-broker');
  });

  it('refuses an unreadable --usp-ca-file naming uspCaFile', () => {
    const missing = join(tmp, 'no-such-ca.pem');
    const m = configError(() => load({ uspBroker: 'mqtts://broker.example:8883', uspCaFile: missing }));
    expect(m).toContain('uspCaFile');
    expect(m).toContain(missing);
    expect(m).toContain('PEM file of CA certificates');
    // a folder is not readable as a file either
    expect(configError(() => load({ uspBroker: 'mqtts://broker.example:8883' }, { CPE_SIM_USP_CA_FILE: tmp }))).toContain('uspCaFile');
  });

  it('takes --acs-cert/--acs-key as a pair of readable PEM files that belong together, naming the key otherwise', () => {
    const tls = (f: string): string => join(repoRoot, 'test', 'fixtures', 'tls', f);
    const ok = load({ ...MOCK, acsCert: tls('client.pem'), acsKey: tls('client-key.pem') });
    expect([ok.acsCert, ok.acsKey]).toEqual([tls('client.pem'), tls('client-key.pem')]);
    expect(configError(() => load({ ...MOCK, acsKey: tls('client-key.pem') }))).toContain('config: acsKey: set without acsCert');
    const missing = configError(() => load({ ...MOCK, acsCert: join(tmp, 'no-cert.pem'), acsKey: tls('client-key.pem') }));
    expect(missing).toContain('config: acsCert: cannot read');
    expect(missing).toContain('expected a PEM file of a client certificate');
    expect(configError(() => load({ ...MOCK, acsCert: tls('client.pem'), acsKey: tls('rogue-key.pem') }))).toMatch(/^config: acsCert\/acsKey: .*not a usable certificate and matching private key/);
  });

  it('never echoes the MQTT password or secret in an error', () => {
    const m1 = configError(() => load({ ...MOCK, config: yamlFile('uspMqttPassword: { pw: hunter2-usp }\n') }));
    expect(m1).toContain('uspMqttPassword');
    expect(m1).not.toContain('hunter2');
    const m2 = configError(() => load({ ...MOCK, uspMqttSecret: ['topsecret-a'] }));
    expect(m2).toContain('uspMqttSecret (flag --usp-mqtt-secret)');
    expect(m2).not.toContain('topsecret');
  });
});

describe('the CLI', () => {
  const cli = join(repoRoot, 'dist/src/cli/main.js');
  /** The environment without any CPE_SIM_ variable (nor jest's NODE_OPTIONS). */
  const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CPE_SIM_') && k !== 'NODE_OPTIONS') env[k] = v;
    return { ...env, ...extra };
  };
  const run = (args: string[], extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, [cli, ...args], { cwd: repoRoot, env: cleanEnv(extra), encoding: 'utf8', timeout: 20_000 });

  it('exits 2 with the message on stderr for a bad flag value', () => {
    const r = run(['--cpes', '0', '--mock-acs', '127.0.0.1:0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cpes (flag --cpes): expected an integer from 1 to 10000000, got "0"');
    expect(r.stdout).toBe('');
  });

  it('exits 2 with the message on stderr for a bad env value, an unknown env var and an unknown flag', () => {
    const r = run(['--mock-acs', '127.0.0.1:0'], { CPE_SIM_BOOT_RAMP: 'fast' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('bootRamp (env CPE_SIM_BOOT_RAMP)');
    expect(r.stderr).toContain('"fast"');

    const u = run(['--version'], { CPE_SIM_FOO: '1' });
    expect(u.status).toBe(2);
    expect(u.stderr).toContain('CPE_SIM_FOO');

    const f = run(['--bogus', '1']);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/bogus/);
  });

  it('exits 2 naming the folder for a missing profile', () => {
    const r = run(['--mock-acs', '127.0.0.1:0', '--profile', join(tmp, 'no-such-profile')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no-such-profile');
  });

  it('--version prints "cpe-sim <version>" and exits 0', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`cpe-sim ${version}\n`);
    expect(r.stderr).toBe('');
  });

  it('--help lists every option as a flag and as an env var', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    const out = r.stdout.replace(/\s+/g, ' ');
    for (const o of OPTIONS) {
      expect(out).toContain(`--${toKebab(o.key)} `);
      expect(out).toContain(toEnv(o.key));
    }
  });
});

describe('XMPP connection-request options', () => {
  it('needs --xmpp-password with --xmpp-server, a CWMP fleet, and refuses companions without a server', () => {
    expect(configError(() => load({ ...MOCK, xmppServer: '127.0.0.1:5222' }))).toContain('config: xmppPassword: required with --xmpp-server');
    expect(configError(() => load({ xmppServer: '127.0.0.1:5222', xmppPassword: 'pw-{serial}', uspBroker: 'embedded', uspMqttVersion: '3.1.1' }))).toContain('config: xmppServer: XMPP connection requests start CWMP sessions');
    expect(configError(() => load({ ...MOCK, xmppPassword: 'x' }))).toContain('config: xmppPassword: has no effect without --xmpp-server');
    expect(configError(() => load({ ...MOCK, xmppServer: '127.0.0.1:5222', xmppPassword: 'x', xmppCaFile: '/nonexistent.pem' }))).toContain('config: xmppCaFile: cannot read');
    const c = load({ ...MOCK, xmppServer: '127.0.0.1:5222', xmppPassword: 'pw-{index}' });
    expect(c.xmppServer).toEqual({ host: '127.0.0.1', port: 5222 });
    expect(c.xmppUsername).toBe('{serial}');
    expect(c.xmppAllowedJids).toBe('');
    expect(c.xmppUseTls).toBe(false);
  });
});
