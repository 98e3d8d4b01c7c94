// Every option of cpe-sim, once. Each is a flag (--kebab-case), an env var
// (CPE_SIM_UPPER_SNAKE) and a camelCase key of the YAML --config file.
import { availableParallelism } from 'node:os';

export type Kind =
  | { t: 'string' }
  | { t: 'secret' }
  | { t: 'int'; min: number; max?: number }
  | { t: 'bool' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'url'; schemes: readonly string[] }
  | { t: 'hostport' }
  | { t: 'seconds'; min: number }
  | { t: 'ramp' }
  | { t: 'rateLimit' }
  | { t: 'broker' }
  | { t: 'pattern'; must: string }
  | { t: 'latency' }
  | { t: 'fleetIndex' };

export interface OptionDef {
  key: string;
  kind: Kind;
  describe: string;
  /** Rendered in --help and docs; computed defaults say how they are computed. */
  defaultText?: string;
  default?: unknown;
  /** Not allowed in the YAML file (the file's own path). */
  notInFile?: true;
}

export const OPTIONS: readonly OptionDef[] = [
  { key: 'config', kind: { t: 'string' }, describe: 'YAML file of options (camelCase keys)', notInFile: true },
  { key: 'profile', kind: { t: 'string' }, describe: 'Profile folder, or a shipped profile\'s name (resolved in the package when not in the working directory; docs/profiles.md)', default: 'profiles/example-tr181-gateway' },
  { key: 'acsUrl', kind: { t: 'url', schemes: ['http', 'https'] }, describe: 'ACS URL the CPEs inform (ManagementServer.URL); required unless --mock-acs is set' },
  { key: 'acsUsername', kind: { t: 'string' }, describe: 'Username for the ACS (ManagementServer.Username)', default: '' },
  { key: 'acsPassword', kind: { t: 'secret' }, describe: 'Password for the ACS (ManagementServer.Password)', default: '' },
  { key: 'acsTimeout', kind: { t: 'seconds', min: 1 }, describe: 'Seconds one ACS exchange may take as a whole (connect, send, the full reply) before the session fails `timeout`', default: 30 },
  { key: 'sessionTimeout', kind: { t: 'seconds', min: 1 }, describe: 'Seconds one CWMP session may last as a whole (every exchange and RPC of it) before it is cut and fails `too-long`', default: 600 },
  { key: 'stopGrace', kind: { t: 'seconds', min: 0 }, describe: 'Seconds a stop (--duration, SIGINT/SIGTERM, the end of a scenario) waits for CWMP sessions in flight before it cuts them, counted `stopped`', default: 10 },
  { key: 'acsCaFile', kind: { t: 'string' }, describe: 'PEM file of CA certificates trusted for an https ACS (default: the system store)' },
  { key: 'acsCert', kind: { t: 'string' }, describe: 'PEM file of the client certificate each CPE presents to an https ACS that asks for one (TR-069 Amendment 6 3.3 allows certificate-based CPE authentication); also used for file transfers. Needs --acs-key' },
  { key: 'acsKey', kind: { t: 'string' }, describe: 'PEM file of the private key of --acs-cert' },
  { key: 'cpes', kind: { t: 'int', min: 1, max: 10_000_000 }, describe: 'Number of CPEs in the fleet', default: 100 },
  { key: 'fleetOffset', kind: { t: 'int', min: 0 }, describe: 'Global index of the first CPE (run several cpe-sim processes side by side)', default: 0 },
  { key: 'fleetIndex', kind: { t: 'fleetIndex' }, describe: 'This process\'s slice of a larger fleet: the fleet offset becomes index × --cpes (not with --fleet-offset). "auto" takes the index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) when set, else from the trailing "-<n>" of the hostname (HOSTNAME, else the system hostname: a StatefulSet pod is <name>-<ordinal>)' },
  { key: 'seed', kind: { t: 'int', min: 0, max: 4294967295 }, describe: 'Seed of every drawn value: {hex:N} serials, hex()/rand() values, per-CPE row counts, counter rates and phases; index-derived serials, MACs and addresses do not depend on it', default: 1 },
  { key: 'shards', kind: { t: 'int', min: 1, max: 256 }, describe: 'Worker threads the fleet is spread over', defaultText: 'available cores' },
  { key: 'shardHeapMb', kind: { t: 'int', min: 32, max: 1_048_576 }, describe: 'Heap cap (V8 old generation, MiB) of each shard thread: a shard that reaches it is ended alone and restarted with a backoff (cpe_sim_process_shard_restarts_total{reason="out-of-memory"}), the other shards and the process carry on', defaultText: '3/4 of the memory (cgroup limit or RAM) divided by --shards, at least 256' },
  { key: 'bootRamp', kind: { t: 'ramp' }, describe: 'How CPEs power on: "<n>/s" (rate), "<n>s" or "<n>m" (spread over a window), or 0 (all at once, bounded by --max-sessions)', default: '200/s' },
  { key: 'maxSessions', kind: { t: 'int', min: 1, max: 100000 }, describe: 'Concurrent CWMP sessions per shard; more wait in a queue', default: 100 },
  { key: 'transfers', kind: { t: 'enum', values: ['fetch', 'skip'] }, describe: 'Download/Upload: fetch really moves the bytes over HTTP(S); skip completes them at once (cheap repeated campaigns)', default: 'fetch' },
  { key: 'crBindAddr', kind: { t: 'hostport' }, describe: 'host:port of the connection-request listener', default: '127.0.0.1:7548' },
  { key: 'crAdvertiseHost', kind: { t: 'string' }, describe: 'Host put in ConnectionRequestURL', defaultText: 'the bind host, or the first external IPv4 when bound to 0.0.0.0' },
  { key: 'crSecret', kind: { t: 'secret' }, describe: 'Secret from which each CPE\'s unguessable connection-request path is derived', defaultText: 'random per run' },
  { key: 'crUsername', kind: { t: 'string' }, describe: 'ConnectionRequestUsername of every CPE, with {serial}, {index} and {oui} filled in per CPE (overrides the profile default)', defaultText: 'the profile\'s default' },
  { key: 'crPassword', kind: { t: 'secret' }, describe: 'ConnectionRequestPassword of every CPE, with {serial}, {index} and {oui} filled in per CPE (overrides the profile default, which an ACS cannot read back)', defaultText: 'the profile\'s default' },
  { key: 'crRateLimit', kind: { t: 'rateLimit' }, describe: 'Connection requests one CPE accepts per period, "<n>/<seconds>s"; more get 503', default: '10/60s' },
  { key: 'udpCrBindAddr', kind: { t: 'hostport' }, describe: 'host:port of each shard\'s one UDP socket for STUN and UDP connection requests (TR-069 Annex G); port 0: an ephemeral port per shard, otherwise this port plus the shard id', defaultText: 'the host of --cr-bind-addr, port 0' },
  { key: 'stunServer', kind: { t: 'hostport' }, describe: 'STUN server of every CPE (TR-111): the default of ManagementServer.STUNServerAddress/STUNServerPort, which an ACS may change', defaultText: 'none: the ACS URL\'s host, port 3478 (TR-181)' },
  { key: 'mockAcs', kind: { t: 'hostport' }, describe: 'Start the embedded mock ACS on host:port (and inform it unless --acs-url is set)' },
  { key: 'mockAcsMaxSessions', kind: { t: 'int', min: 0, max: 10_000_000 }, describe: 'Overload mode of the embedded mock ACS: sessions it keeps open at once; an Inform past them gets 503 and the connection closed (0: no limit; docs/mock-acs.md)', default: 0 },
  { key: 'mockAcsRetryAfter', kind: { t: 'int', min: 0, max: 86400 }, describe: 'Retry-After seconds on the embedded mock ACS\'s 503 (0: send no Retry-After)', default: 60 },
  { key: 'mockAcsLatency', kind: { t: 'latency' }, describe: 'Delay the embedded mock ACS adds before every answer: "<ms>" or "<ms>±<jitter>" (also "<ms>+-<jitter>"), jitter drawn uniformly', default: '0' },
  { key: 'metricsBindAddr', kind: { t: 'hostport' }, describe: 'host:port of the metrics and admin listener (GET /metrics, /admin/...); off when unset. Bind it to localhost or inside a trust boundary' },
  { key: 'adminToken', kind: { t: 'secret' }, describe: 'When set, /admin/* requires Authorization: Bearer <token>' },
  { key: 'uspBroker', kind: { t: 'broker' }, describe: 'Make every CPE a USP agent on this MQTT broker: mqtt://host:port, mqtts://host:port, or "embedded" (an in-process aedes broker on --usp-embedded-bind, MQTT 3.1.1 only). Without --acs-url and --mock-acs the fleet is USP-only' },
  { key: 'uspMtp', kind: { t: 'enum', values: ['mqtt', 'websocket', 'stomp'] }, describe: 'Message transfer protocol of the USP agents: mqtt (--usp-broker mqtt://...), websocket (--usp-controller-url, or --usp-ws-listen for agents as WebSocket servers) or stomp (--usp-broker stomp://...)', default: 'mqtt' },
  { key: 'uspControllerUrl', kind: { t: 'url', schemes: ['ws', 'wss'] }, describe: 'With --usp-mtp websocket: make every CPE a USP agent that connects to the controller\'s WebSocket server at this URL (ws://host:port/path or wss://...)' },
  { key: 'uspWsListen', kind: { t: 'hostport' }, describe: 'With --usp-mtp websocket: make every CPE a USP agent that accepts the controller\'s WebSocket connection instead, at ws://host:port/usp/{endpointId}; shard k listens on port + k (port 0: each shard picks a free port)' },
  { key: 'uspEmbeddedBind', kind: { t: 'hostport' }, describe: 'host:port of the embedded broker (--usp-broker embedded)', default: '127.0.0.1:1883' },
  { key: 'uspEndpointId', kind: { t: 'pattern', must: '' }, describe: 'Endpoint ID of each agent, with {oui}, {serial}, {productClass} and {index} filled in (TR-369 "os::" form by default)', default: 'os::{oui}-{serial}' },
  { key: 'uspControllerId', kind: { t: 'string' }, describe: 'Endpoint ID of the USP controller the agents answer and notify (LocalAgent.Controller.1.EndpointID)', default: 'self::usp-controller' },
  { key: 'uspControllerTopic', kind: { t: 'string' }, describe: 'MQTT topic the controller subscribes to: where agents send MQTTConnect records and notifications (--usp-mtp stomp: the controller\'s STOMP destination, /queue/usp.controller unless given)', default: '/usp/controller' },
  { key: 'uspAgentTopic', kind: { t: 'pattern', must: '{endpointId}' }, describe: 'MQTT topic each agent subscribes to, with {endpointId} (required), {serial}, {oui} and {index} filled in (--usp-mtp stomp: each agent\'s STOMP destination, /queue/usp.agent.{endpointId} unless given)', default: '/usp/agent/{endpointId}' },
  { key: 'uspMqttVersion', kind: { t: 'enum', values: ['3.1.1', '5'] }, describe: 'MQTT protocol version of the agents\' connections (the embedded broker speaks 3.1.1 only)', default: '5' },
  { key: 'uspMqttUsername', kind: { t: 'string' }, describe: 'MQTT username of each agent, with {endpointId}, {serial}, {oui} and {index} filled in', defaultText: 'none; the Endpoint ID when --usp-mqtt-secret is set' },
  { key: 'uspMqttPassword', kind: { t: 'secret' }, describe: 'MQTT password shared by every agent (see --usp-mqtt-secret for per-agent passwords)' },
  { key: 'uspMqttSecret', kind: { t: 'secret' }, describe: 'Secret from which each agent derives its own MQTT password: lower-case hex HMAC-SHA256(key = secret, message = Endpoint ID)' },
  { key: 'uspCaFile', kind: { t: 'string' }, describe: 'PEM file of CA certificates trusted for a TLS broker or controller (mqtts://, wss://, stomps://; default: the system store)' },
  { key: 'uspCert', kind: { t: 'string' }, describe: 'PEM file of the client certificate the agents present to a TLS broker or controller (mqtts://, wss://, stomps://). Needs --usp-key' },
  { key: 'uspKey', kind: { t: 'string' }, describe: 'PEM file of the private key of --usp-cert' },
  { key: 'xmppServer', kind: { t: 'hostport' }, describe: 'XMPP connection requests (TR-069 Annex K): every CPE logs in to this XMPP server (host:port) with its Device.XMPP.Connection.1 credentials and answers connectionRequest iqs; off when unset (the profile\'s own Device.XMPP values stand)' },
  { key: 'xmppDomain', kind: { t: 'string' }, describe: 'Domain of every CPE\'s JID (XMPP.Connection.1.Domain)', defaultText: 'the --xmpp-server host' },
  { key: 'xmppUsername', kind: { t: 'string' }, describe: 'XMPP username (JID local part) of every CPE, with {serial}, {index} and {oui} filled in per CPE', default: '{serial}' },
  { key: 'xmppPassword', kind: { t: 'secret' }, describe: 'XMPP password of every CPE, with {serial}, {index} and {oui} filled in per CPE; required with --xmpp-server (the server must know each account)' },
  { key: 'xmppAllowedJids', kind: { t: 'string' }, describe: 'ManagementServer.ConnReqAllowedJabberIDs of every CPE: comma-separated JIDs that may send connection requests (a bare JID allows any of its resources); empty allows anyone', default: '' },
  { key: 'xmppUseTls', kind: { t: 'bool' }, describe: 'XMPP.Connection.1.UseTLS: start TLS (STARTTLS) and refuse a server that does not offer it; a server that requires TLS gets it either way', default: false },
  { key: 'xmppCaFile', kind: { t: 'string' }, describe: 'PEM file of CA certificates trusted for the XMPP server\'s certificate (default: the system store)' },
  { key: 'stateDir', kind: { t: 'string' }, describe: 'Folder where each CPE keeps its state across restarts and shard crashes, as a gateway keeps its flash: values, rows and attributes set by an ACS or controller, the bootstrap flag, pending transfers and events (docs/persistence.md); off when unset' },
  { key: 'forceDescriptors', kind: { t: 'bool' }, describe: 'Start even when the fleet needs more file descriptors than the soft limit (ulimit -n) allows; without it such a start is refused with the numbers (exit 2). What does not fit fails with reason "descriptors" (README "Descriptors")', default: false },
  { key: 'duration', kind: { t: 'seconds', min: 0 }, describe: 'Stop after this many seconds (0: run until SIGINT/SIGTERM)', default: 0 },
  { key: 'logLevel', kind: { t: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, describe: 'Log level', default: 'info' },
  { key: 'logFormat', kind: { t: 'enum', values: ['json', 'text'] }, describe: 'Log format: json (pino) or text (one line per record)', defaultText: 'text on a terminal (stderr a TTY), else json' },
  { key: 'progress', kind: { t: 'bool' }, describe: 'With text logs on a terminal (stderr a TTY, the default there): one live status line redrawn each second (CPEs by state, sessions/s, failures by reason, connections, the stage) instead of the progress log line every 5 s; false (flag --no-progress) keeps the log lines', default: true },
  { key: 'version', kind: { t: 'bool' }, describe: 'Print the version and exit', default: false },
];

export interface Config {
  config: string | undefined;
  profile: string;
  acsUrl: string | undefined;
  acsUsername: string;
  acsPassword: string;
  acsTimeout: number;
  sessionTimeout: number;
  stopGrace: number;
  stateDir: string | undefined;
  acsCaFile: string | undefined;
  acsCert: string | undefined;
  acsKey: string | undefined;
  cpes: number;
  fleetOffset: number;
  /** As given; loadConfig has already folded it into fleetOffset. */
  fleetIndex: 'auto' | number | undefined;
  seed: number;
  shards: number;
  shardHeapMb: number | undefined;
  bootRamp: BootRamp;
  maxSessions: number;
  transfers: 'fetch' | 'skip';
  crBindAddr: HostPort;
  crAdvertiseHost: string | undefined;
  crSecret: string | undefined;
  crUsername: string | undefined;
  crPassword: string | undefined;
  crRateLimit: { count: number; periodSec: number };
  udpCrBindAddr: HostPort | undefined;
  stunServer: HostPort | undefined;
  mockAcs: HostPort | undefined;
  mockAcsMaxSessions: number;
  mockAcsRetryAfter: number;
  mockAcsLatency: { ms: number; jitterMs: number };
  metricsBindAddr: HostPort | undefined;
  adminToken: string | undefined;
  uspBroker: UspBroker | undefined;
  uspMtp: 'mqtt' | 'websocket' | 'stomp';
  uspControllerUrl: string | undefined;
  uspWsListen: HostPort | undefined;
  uspEmbeddedBind: HostPort;
  uspEndpointId: string;
  uspControllerId: string;
  uspControllerTopic: string;
  uspAgentTopic: string;
  uspMqttVersion: '3.1.1' | '5';
  uspMqttUsername: string | undefined;
  uspMqttPassword: string | undefined;
  uspMqttSecret: string | undefined;
  uspCaFile: string | undefined;
  uspCert: string | undefined;
  uspKey: string | undefined;
  xmppServer: HostPort | undefined;
  xmppDomain: string | undefined;
  xmppUsername: string;
  xmppPassword: string | undefined;
  xmppAllowedJids: string;
  xmppUseTls: boolean;
  xmppCaFile: string | undefined;
  forceDescriptors: boolean;
  duration: number;
  logLevel: string;
  logFormat: 'json' | 'text';
  progress: boolean;
  version: boolean;
}

export type UspBroker = { mode: 'embedded' } | { mode: 'url'; url: string };
export type BootRamp = { mode: 'none' } | { mode: 'rate'; perSecond: number } | { mode: 'window'; seconds: number };
export interface HostPort {
  host: string;
  port: number;
}

export function computedDefault(key: string): unknown {
  if (key === 'shards') return Math.min(256, availableParallelism());
  // A person at a terminal reads text (and gets the live status line); a pipe, a file or a
  // log collector gets JSON.
  if (key === 'logFormat') return process.stderr.isTTY === true ? 'text' : 'json';
  return undefined;
}

export const toKebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const toEnv = (k: string): string => `CPE_SIM_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
