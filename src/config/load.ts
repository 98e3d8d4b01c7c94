// Merge options with precedence flag > env > scenario file > YAML --config file > default,
// refusing unknown keys and bad values with a message that names the key, where it came
// from and the form expected.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import YAML from 'yaml';
import { ConfigError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { resolveProfile } from './profile-path.js';
import { OPTIONS, computedDefault, toEnv, toKebab, type Config, type Kind, type OptionDef } from './options.js';

export type Source = 'flag' | 'env' | 'scenario' | 'file' | 'default';

/** A scenario file's `options:` map (docs/scenarios.md), a source between env and --config. */
export interface ScenarioOptions {
  /** The scenario file, as named in messages. */
  file: string;
  options: Record<string, unknown>;
}

function where(def: OptionDef, source: Source, file?: string, scenario?: string): string {
  switch (source) {
    case 'flag':
      return `flag --${toKebab(def.key)}`;
    case 'env':
      return `env ${toEnv(def.key)}`;
    case 'scenario':
      return `scenario ${scenario} options.${def.key}`;
    case 'file':
      return `file ${file}`;
    case 'default':
      return 'default';
  }
}

function expected(kind: Kind): string {
  switch (kind.t) {
    case 'string':
    case 'secret':
      return 'a string';
    case 'int':
      return kind.max !== undefined ? `an integer from ${kind.min} to ${kind.max}` : `an integer >= ${kind.min}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${kind.values.join(', ')}`;
    case 'url':
      return `a URL (${kind.schemes.map((s) => `${s}://`).join(' or ')}host[:port]/path)`;
    case 'hostport':
      return 'host:port (e.g. 127.0.0.1:7548 or [::1]:7548)';
    case 'seconds':
      return `a number of seconds >= ${kind.min}`;
    case 'ramp':
      return '"<n>/s", "<n>s", "<n>m" or 0';
    case 'rateLimit':
      return '"<count>/<seconds>s", e.g. 10/60s';
    case 'broker':
      return '"embedded" or a URL (mqtt://host:port or mqtts://host:port; stomp://host:port or stomps://host:port with --usp-mtp stomp)';
    case 'pattern':
      return kind.must ? `a non-empty pattern containing ${kind.must}` : 'a non-empty pattern';
    case 'fleetIndex':
      return '"auto" or a whole number >= 0';
    case 'latency':
      return 'milliseconds "<ms>" or "<ms>±<jitter>" (or "<ms>+-<jitter>"), e.g. 200 or 200±50';
  }
}

/** Parse one raw value (string from flag/env, any YAML scalar from the file). */
export function parseValue(kind: Kind, raw: unknown): { ok: true; value: unknown } | { ok: false } {
  const s = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
  if (s === undefined) return { ok: false };
  switch (kind.t) {
    case 'string':
    case 'secret':
      return { ok: true, value: s };
    case 'int': {
      if (!/^\d+$/.test(s)) return { ok: false };
      const n = Number(s);
      if (n < kind.min || (kind.max !== undefined && n > kind.max) || !Number.isSafeInteger(n)) return { ok: false };
      return { ok: true, value: n };
    }
    case 'bool':
      if (/^(true|1|yes)$/i.test(s)) return { ok: true, value: true };
      if (/^(false|0|no)$/i.test(s)) return { ok: true, value: false };
      return { ok: false };
    case 'enum':
      return kind.values.includes(s) ? { ok: true, value: s } : { ok: false };
    case 'url': {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        return { ok: false };
      }
      return kind.schemes.includes(u.protocol.replace(/:$/, '')) && u.hostname !== '' ? { ok: true, value: u.toString() } : { ok: false };
    }
    case 'hostport': {
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(s);
      if (!m) return { ok: false };
      const port = Number(m[3]);
      if (port > 65535) return { ok: false };
      return { ok: true, value: { host: m[1] ?? m[2]!, port } };
    }
    case 'seconds': {
      if (!/^\d+(\.\d+)?$/.test(s)) return { ok: false };
      const n = Number(s);
      return n >= kind.min ? { ok: true, value: n } : { ok: false };
    }
    case 'ramp': {
      if (s === '0') return { ok: true, value: { mode: 'none' } };
      let m = /^(\d+(?:\.\d+)?)\/s$/.exec(s);
      if (m && Number(m[1]) > 0) return { ok: true, value: { mode: 'rate', perSecond: Number(m[1]) } };
      m = /^(\d+(?:\.\d+)?)(s|m)$/.exec(s);
      if (m && Number(m[1]) > 0) return { ok: true, value: { mode: 'window', seconds: Number(m[1]) * (m[2] === 'm' ? 60 : 1) } };
      return { ok: false };
    }
    case 'broker': {
      if (s === 'embedded') return { ok: true, value: { mode: 'embedded' } };
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        return { ok: false };
      }
      return ['mqtt:', 'mqtts:', 'stomp:', 'stomps:'].includes(u.protocol) && u.hostname !== '' ? { ok: true, value: { mode: 'url', url: s } } : { ok: false };
    }
    case 'pattern':
      return s !== '' && s.includes(kind.must) ? { ok: true, value: s } : { ok: false };
    case 'latency': {
      const m = /^(\d+(?:\.\d+)?)(?:\s*(?:±|\+-)\s*(\d+(?:\.\d+)?))?$/.exec(s);
      if (!m) return { ok: false };
      return { ok: true, value: { ms: Number(m[1]), jitterMs: m[2] !== undefined ? Number(m[2]) : 0 } };
    }
    case 'fleetIndex': {
      if (s === 'auto') return { ok: true, value: 'auto' };
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) return { ok: false };
      return { ok: true, value: Number(s) };
    }
    case 'rateLimit': {
      const m = /^(\d+)\/(\d+(?:\.\d+)?)s$/.exec(s);
      if (!m || Number(m[1]) < 1 || Number(m[2]) <= 0) return { ok: false };
      return { ok: true, value: { count: Number(m[1]), periodSec: Number(m[2]) } };
    }
  }
}

const given = (map: Record<string, unknown>, key: string): boolean => map[key] !== undefined && map[key] !== null;

function flagOrEnvOrFile(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, files: Array<Record<string, unknown>>, key: string): boolean {
  return flags[key] !== undefined || env[toEnv(key)] !== undefined || files.some((f) => given(f, key));
}

const FILE_KEYS = OPTIONS.filter((o) => !o.notInFile).map((o) => o.key);

/** Options a scenario cannot set, and why. */
const NOT_IN_SCENARIO: Readonly<Record<string, string>> = {
  duration: 'its stages decide how long the run lasts',
};

/** Refuse keys of a YAML options map that are no option or cannot be set there; `label` names the map. */
function checkKeys(map: Record<string, unknown>, label: string, refused: Readonly<Record<string, string>> = {}): void {
  const byKey = new Map(OPTIONS.map((o) => [o.key, o]));
  for (const k of Object.keys(map)) {
    const def = byKey.get(k);
    if (def?.notInFile) throw new ConfigError(`config: ${label}: "${k}" cannot be set inside the config file`);
    if (refused[k] !== undefined) throw new ConfigError(`config: ${label}: "${k}" cannot be set in a scenario (${refused[k]})`);
    if (!def) throw new ConfigError(`config: ${label}: unknown key "${k}"${didYouMean(k, FILE_KEYS)}`);
  }
}

/** One raw value parsed, or a ConfigError naming the key, where it came from and the form expected. */
function parseOption(def: OptionDef, raw: unknown, whereText: string): unknown {
  const parsed = parseValue(def.kind, raw);
  if (!parsed.ok) {
    const shown = def.kind.t === 'secret' ? '(hidden)' : JSON.stringify(typeof raw === 'string' ? raw.replace(/\/\/[^/@\s]*@/, '//(credentials hidden)@') : raw);
    throw new ConfigError(`config: ${def.key} (${whereText}): expected ${expected(def.kind)}, got ${shown}`);
  }
  return parsed.value;
}

/**
 * Check a scenario's `options:` map on its own, before anything starts: every key an option
 * allowed in a file (not `duration`), every value of its option's form. The same checks and
 * messages as loadConfig's for that source.
 */
export function checkScenarioOptions(s: ScenarioOptions): void {
  checkKeys(s.options, `scenario ${s.file} options`, NOT_IN_SCENARIO);
  for (const def of OPTIONS) {
    if (given(s.options, def.key)) parseOption(def, s.options[def.key], where(def, 'scenario', undefined, s.file));
  }
}

export interface RawSources {
  /** Flags as given on the command line (camelCase keys; absent when not given). */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** The options of the scenario being run (`cpe-sim run`), between env and the --config file. */
  scenario?: ScenarioOptions;
}

/** Build the Config. Throws ConfigError naming the key. */
export function loadConfig({ flags, env, scenario }: RawSources): Config {
  const byKey = new Map(OPTIONS.map((o) => [o.key, o]));
  for (const k of Object.keys(flags)) {
    if (!byKey.has(k)) throw new ConfigError(`config: unknown flag --${toKebab(k)}`);
  }
  const envNames = new Map(OPTIONS.map((o) => [toEnv(o.key), o]));
  for (const name of Object.keys(env)) {
    if (name.startsWith('CPE_SIM_') && !envNames.has(name)) {
      throw new ConfigError(`config: unknown environment variable ${name} (known: ${[...envNames.keys()].join(', ')})`);
    }
  }
  const configPath = (flags['config'] as string | undefined) ?? env[toEnv('config')];
  let file: Record<string, unknown> = {};
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (e) {
      throw new ConfigError(`config: cannot read --config file ${configPath}: ${(e as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = YAML.parse(text);
    } catch (e) {
      throw new ConfigError(`config: ${configPath} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config: ${configPath} must be a map of camelCase keys`);
      file = doc as Record<string, unknown>;
    }
    checkKeys(file, configPath);
  }
  const scen = scenario?.options ?? {};
  if (scenario) checkKeys(scen, `scenario ${scenario.file} options`, NOT_IN_SCENARIO);
  const out: Record<string, unknown> = {};
  for (const def of OPTIONS) {
    let source: Source = 'default';
    let raw: unknown;
    if (flags[def.key] !== undefined) {
      source = 'flag';
      raw = flags[def.key];
    } else if (env[toEnv(def.key)] !== undefined) {
      source = 'env';
      raw = env[toEnv(def.key)];
    } else if (given(scen, def.key)) {
      source = 'scenario';
      raw = scen[def.key];
    } else if (given(file, def.key)) {
      source = 'file';
      raw = file[def.key];
    } else {
      raw = def.default ?? computedDefault(def.key);
    }
    if (raw === undefined) {
      out[def.key] = undefined;
      continue;
    }
    out[def.key] = parseOption(def, raw, where(def, source, configPath, scenario?.file));
  }
  const cfg = out as unknown as Config;
  cfg.profile = resolveProfile(cfg.profile);
  if (cfg.acsCaFile !== undefined) {
    try {
      readFileSync(cfg.acsCaFile);
    } catch (e) {
      throw new ConfigError(`config: acsCaFile: cannot read ${JSON.stringify(cfg.acsCaFile)}: ${(e as Error).message} (expected a PEM file of CA certificates)`);
    }
  }
  if (cfg.uspCaFile !== undefined) {
    try {
      readFileSync(cfg.uspCaFile);
    } catch (e) {
      throw new ConfigError(`config: uspCaFile: cannot read ${JSON.stringify(cfg.uspCaFile)}: ${(e as Error).message} (expected a PEM file of CA certificates)`);
    }
  }
  if (cfg.fleetIndex !== undefined) cfg.fleetOffset = fleetOffsetOf(cfg, env, flagOrEnvOrFile(flags, env, [scen, file], 'fleetOffset'));
  checkClientCert(cfg, 'acsCert', 'acsKey');
  checkClientCert(cfg, 'uspCert', 'uspKey');
  if (cfg.xmppServer === undefined) {
    for (const key of ['xmppDomain', 'xmppPassword', 'xmppCaFile']) {
      if (cfg[key as keyof Config] !== undefined) throw new ConfigError(`config: ${key}: has no effect without --xmpp-server (XMPP connection requests are off)`);
    }
  } else {
    if (cfg.xmppPassword === undefined) throw new ConfigError('config: xmppPassword: required with --xmpp-server: each CPE logs in to the XMPP server with it (a pattern such as "pw-{serial}"; the server must have each account)');
    if (cfg.acsUrl === undefined && cfg.mockAcs === undefined) throw new ConfigError('config: xmppServer: XMPP connection requests start CWMP sessions: give --acs-url or --mock-acs too');
    if (cfg.xmppCaFile !== undefined) {
      try {
        readFileSync(cfg.xmppCaFile);
      } catch (e) {
        throw new ConfigError(`config: xmppCaFile: cannot read ${JSON.stringify(cfg.xmppCaFile)}: ${(e as Error).message} (expected a PEM file of CA certificates)`);
      }
    }
  }
  checkUspMtp(cfg);
  if (cfg.uspMtp === 'stomp') {
    // MQTT-style topics are no STOMP destinations RabbitMQ (and most brokers) take: default to queues.
    if (!flagOrEnvOrFile(flags, env, [scen, file], 'uspAgentTopic')) cfg.uspAgentTopic = '/queue/usp.agent.{endpointId}';
    if (!flagOrEnvOrFile(flags, env, [scen, file], 'uspControllerTopic')) cfg.uspControllerTopic = '/queue/usp.controller';
  }
  if (cfg.uspBroker?.mode === 'embedded' && cfg.uspMqttVersion === '5') {
    // aedes speaks MQTT 3.1.1 only: say so rather than fail every CONNECT at run time.
    if (flagOrEnvOrFile(flags, env, [scen, file], 'uspMqttVersion')) {
      throw new ConfigError('config: uspMqttVersion: the embedded broker (--usp-broker embedded) speaks MQTT 3.1.1 only; use --usp-mqtt-version 3.1.1 or an external MQTT 5 broker');
    }
    cfg.uspMqttVersion = '3.1.1';
  }
  if (cfg.mockAcs === undefined) {
    for (const key of ['mockAcsMaxSessions', 'mockAcsRetryAfter', 'mockAcsLatency']) {
      if (flagOrEnvOrFile(flags, env, [scen, file], key)) throw new ConfigError(`config: ${key}: applies to the embedded mock ACS only; give --mock-acs host:port too (or drop --${toKebab(key)})`);
    }
  }
  if (!cfg.version && cfg.acsUrl === undefined && cfg.mockAcs === undefined && !uspEnabled(cfg)) {
    throw new ConfigError(`config: acsUrl: missing (give --acs-url http://host:port/ or ${toEnv('acsUrl')}, --mock-acs host:port for the embedded mock ACS, or --usp-broker (or --usp-controller-url, --usp-ws-listen) for a USP-only fleet)`);
  }
  return cfg;
}

/**
 * The fleet offset of --fleet-index: index × cpes. "auto" reads JOB_COMPLETION_INDEX (set by
 * Kubernetes in the pods of an Indexed Job) when present, else the trailing "-<n>" of the
 * hostname (a StatefulSet pod's hostname is <statefulset>-<ordinal>): HOSTNAME first, which
 * Kubernetes sets in every pod, then the system hostname.
 */
function fleetOffsetOf(cfg: Config, env: NodeJS.ProcessEnv, offsetGiven: boolean): number {
  if (offsetGiven) throw new ConfigError('config: fleetIndex and fleetOffset: give one of --fleet-index and --fleet-offset, not both (--fleet-index sets the offset to index × --cpes)');
  let index: number;
  if (cfg.fleetIndex === 'auto') {
    const job = env['JOB_COMPLETION_INDEX'];
    if (job !== undefined && job !== '') {
      if (!/^\d+$/.test(job.trim()) || !Number.isSafeInteger(Number(job.trim()))) throw new ConfigError(`config: fleetIndex: auto: JOB_COMPLETION_INDEX is ${JSON.stringify(job)}, expected a whole number >= 0`);
      index = Number(job.trim());
    } else {
      const host = env['HOSTNAME'] !== undefined && env['HOSTNAME'] !== '' ? env['HOSTNAME'] : hostname();
      const m = /-(\d+)$/.exec(host.split('.')[0]!);
      if (!m || !Number.isSafeInteger(Number(m[1]))) {
        throw new ConfigError(`config: fleetIndex: auto: hostname ${JSON.stringify(host)} has no trailing "-<ordinal>" (as a StatefulSet pod's <name>-<n>) and JOB_COMPLETION_INDEX is not set; give --fleet-index N or --fleet-offset N`);
      }
      index = Number(m[1]);
    }
  } else {
    index = cfg.fleetIndex as number;
  }
  const offset = index * cfg.cpes;
  if (!Number.isSafeInteger(offset)) throw new ConfigError(`config: fleetIndex: ${index} × cpes ${cfg.cpes} is too large a fleet offset`);
  return offset;
}

/** A client certificate and its key come as a pair of readable PEM files that belong together. */
function checkClientCert(cfg: Config, certKey: 'acsCert' | 'uspCert', keyKey: 'acsKey' | 'uspKey'): void {
  const cert = cfg[certKey];
  const key = cfg[keyKey];
  if (cert === undefined && key === undefined) return;
  if (cert === undefined) throw new ConfigError(`config: ${keyKey}: set without ${certKey} (expected both: the client certificate and its private key)`);
  if (key === undefined) throw new ConfigError(`config: ${certKey}: set without ${keyKey} (expected both: the client certificate and its private key)`);
  const read = (k: string, file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`config: ${k}: cannot read ${JSON.stringify(file)}: ${(e as Error).message} (expected a PEM file of ${what})`);
    }
  };
  const certPem = read(certKey, cert, 'a client certificate');
  const keyPem = read(keyKey, key, 'a private key');
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (e) {
    throw new ConfigError(`config: ${certKey}/${keyKey}: ${JSON.stringify(cert)} and ${JSON.stringify(key)} are not a usable certificate and matching private key: ${(e as Error).message}`);
  }
}

/** The CPEs are USP agents: some MTP endpoint is configured. */
export function uspEnabled(cfg: Pick<Config, 'uspBroker' | 'uspControllerUrl' | 'uspWsListen'>): boolean {
  return cfg.uspBroker !== undefined || cfg.uspControllerUrl !== undefined || cfg.uspWsListen !== undefined;
}

/** --usp-mtp and the endpoint options agree: each MTP takes its own and no other's. */
function checkUspMtp(cfg: Config): void {
  const scheme = cfg.uspBroker?.mode === 'url' ? new URL(cfg.uspBroker.url).protocol.replace(/:$/, '') : cfg.uspBroker?.mode;
  switch (cfg.uspMtp) {
    case 'mqtt':
      for (const key of ['uspControllerUrl', 'uspWsListen'] as const) {
        if (cfg[key] !== undefined) throw new ConfigError(`config: ${key}: applies to the WebSocket MTP only; give --usp-mtp websocket too`);
      }
      if (scheme === 'stomp' || scheme === 'stomps') throw new ConfigError(`config: uspBroker: ${scheme}:// is a STOMP broker; give --usp-mtp stomp too`);
      return;
    case 'stomp':
      for (const key of ['uspControllerUrl', 'uspWsListen'] as const) {
        if (cfg[key] !== undefined) throw new ConfigError(`config: ${key}: applies to the WebSocket MTP only, not to --usp-mtp stomp`);
      }
      if (scheme !== 'stomp' && scheme !== 'stomps') throw new ConfigError(`config: uspBroker: --usp-mtp stomp needs a STOMP broker URL (stomp://host:port or stomps://host:port)${scheme ? `, not ${scheme === 'embedded' ? '"embedded"' : `${scheme}://`}` : ''}`);
      return;
    case 'websocket':
      if (cfg.uspBroker !== undefined) throw new ConfigError('config: uspBroker: the WebSocket MTP has no broker; give --usp-controller-url ws://host:port/path (agents as clients) or --usp-ws-listen host:port (agents as servers)');
      if ((cfg.uspControllerUrl === undefined) === (cfg.uspWsListen === undefined)) {
        throw new ConfigError('config: uspMtp: websocket needs exactly one of --usp-controller-url ws://host:port/path (agents connect to the controller) and --usp-ws-listen host:port (the controller connects to the agents)');
      }
      return;
  }
}
