// Every message that crosses a thread boundary, in one place, as discriminated unions.
// Requests carry a correlation id; replies echo it. With them, the vocabulary those
// messages carry: CPE lifecycle states and the metrics snapshot a shard pushes.
// coordinator/, shard/, http/, metrics/ and workers/ import these; this module imports
// none of them.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { BootRamp } from '../config/options.js';
import type { FleetEvent } from '../scenario/model.js';
import type { HistogramWire } from '../util/loghist.js';
import type { WireError } from '../util/errors.js';
import type { ThreadProbe } from '../util/probe.js';

export const LIFECYCLE_STATES = ['new', 'bootstrapping', 'ready', 'failed'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/** A USP agent's MQTT connection, as the admin API and cpe_sim_usp_mqtt_connection_state name it. */
export const MQTT_CONNECTION_STATES = ['disconnected', 'connecting', 'connected', 'backoff'] as const;
export type MqttConnectionState = (typeof MQTT_CONNECTION_STATES)[number];

/** A thread's metrics registry as JSON (prom-client's getMetricsAsJSON), as shards push it. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** Everything a shard needs to build its CPEs; structured-clone safe. */
export interface ShardInit {
  shardId: number;
  /** Global CPE indices [lo, hi) owned by this shard. */
  lo: number;
  hi: number;
  fleetOffset: number;
  fleetSize: number;
  seed: number;
  profileDir: string;
  /**
   * The profile as main loaded it once, v8.serialize()d: the shard builds its template from
   * it without loading the YAML parser or reading the model files again. Absent, the shard
   * loads profileDir itself.
   */
  profileSpec?: Uint8Array;
  /** timeoutMs bounds one exchange (--acs-timeout), sessionTimeoutMs a whole session (--session-timeout). */
  acs: { url: string; username: string; password: string; timeoutMs: number; sessionTimeoutMs: number; caFile: string | undefined; certFile?: string | undefined; keyFile?: string | undefined };
  maxSessions: number;
  /** The state dir (--state-dir): CPEs' records are loaded at start and written before a write is acknowledged. */
  stateDir?: string;
  /** How long a stop waits for CWMP sessions in flight before it cuts them (--stop-grace; default 10 s). */
  stopGraceMs?: number;
  /** 'skip' completes Download/Upload without moving bytes. */
  transfers?: 'fetch' | 'skip';
  bootRamp: BootRamp;
  /** Epoch ms at which the fleet's boot ramp starts (same for every shard). */
  startAt: number;
  cr: { baseUrl: string; secret: string; rateLimit: { count: number; periodSec: number }; nonceCache?: number | undefined; username?: string | undefined; password?: string | undefined };
  logLevel: string;
  logFormat: 'json' | 'text';
  /** Run CWMP sessions (false: a USP-only fleet, no --acs-url). */
  cwmp: boolean;
  /** Every CPE is also a USP agent (--usp-broker). */
  usp?: UspInit | undefined;
  /** The shard's UDP connection-request and STUN socket (TR-069 Annex G); absent: none. */
  udpCr?: UdpCrInit | undefined;
  /** XMPP connection requests (--xmpp-server; TR-069 Annex K). */
  xmpp?: XmppInit | undefined;
  /** Count and push metrics (on when --metrics-bind-addr is set). */
  metrics?: boolean;
  /** Bench: take a heap baseline (after GC) before the CPEs are built. */
  measure?: boolean;
  /** Leave every CPE off at start: a scenario's stages power them on (no boot ramp). */
  holdPower?: boolean;
  /**
   * The process's descriptor gate (a SharedArrayBuffer of src/util/fds.ts FdGate), and what
   * one socket costs in descriptors of this process: 2 when the peer is in-process too (the
   * embedded broker, the embedded mock ACS). Absent: no gate.
   */
  fds?: { gate: SharedArrayBuffer; perMqtt: number; perAcs: number } | undefined;
  /**
   * Tests only (set through startFleet's FleetOptions, never from a flag, env var or file):
   * the shard obeys test hooks such as 'test-exhaust-memory'; without it they are refused.
   */
  testHooks?: boolean;
}

/** The MTP the agents speak (--usp-mtp). */
export const USP_MTPS = ['mqtt', 'websocket', 'stomp'] as const;
export type UspMtp = (typeof USP_MTPS)[number];
/** Each MTP's name as TR-181 `Device.LocalAgent.MTP.{i}.Protocol` and the logs write it. */
export const USP_MTP_NAMES: Record<UspMtp, 'MQTT' | 'WebSocket' | 'STOMP'> = { mqtt: 'MQTT', websocket: 'WebSocket', stomp: 'STOMP' };

/** The USP agents' settings (--usp-*), patterns unfilled: each agent fills its own. */
export interface UspInit {
  /** The MTP of every agent of the fleet. */
  mtp: UspMtp;
  /** WebSocket MTP with the agents as servers (--usp-ws-listen): shard k listens on port + k (0: any). */
  wsListen?: { host: string; port: number } | undefined;
  /** The MQTT or STOMP broker's URL, or the controller's WebSocket URL (agents as WebSocket clients). */
  brokerUrl: string;
  /** Label of cpe_sim_usp_mqtt_connection_state{broker}: the URL without credentials. */
  brokerLabel: string;
  protocolVersion: 4 | 5;
  endpointId: string;
  agentTopic: string;
  controllerId: string;
  controllerTopic: string;
  username: string | undefined;
  password: string | undefined;
  secret: string | undefined;
  /** PEM text of --usp-ca-file. */
  ca: string | undefined;
  /** PEM text of --usp-cert and --usp-key: the client certificate the agents present. */
  cert?: string | undefined;
  key?: string | undefined;
}

/** One UDP socket per shard for STUN and UDP connection requests (--udp-cr-bind-addr, --stun-server). */
export interface UdpCrInit {
  host: string;
  /** 0: an ephemeral port per shard; otherwise this port plus the shard id. */
  port: number;
  /** Host published in UDPConnectionRequestAddress while STUN is off. */
  advertiseHost: string;
  /** Default of ManagementServer.STUNServerAddress/Port (--stun-server). */
  stunServer?: { host: string; port: number } | undefined;
}

/**
 * The fleet's XMPP settings (--xmpp-*): the defaults of each CPE's Device.XMPP.Connection.1
 * and ManagementServer.ConnReqAllowedJabberIDs; patterns unfilled. Without `server` the
 * profile's own values stand (XMPP off in the shipped profile).
 */
export interface XmppInit {
  server: { host: string; port: number } | undefined;
  domain: string | undefined;
  username: string | undefined;
  password: string | undefined;
  allowedJids: string | undefined;
  useTls: boolean;
  /** PEM text of --xmpp-ca-file. */
  ca: string | undefined;
}

export interface CrRequest {
  method: string;
  /** Request target as received (path and query). */
  url: string;
  authorization: string | undefined;
}

export interface CrReply {
  status: number;
  headers: Record<string, string>;
}

export interface CpeSummary {
  id: number;
  serial: string;
  lifecycleState: LifecycleState;
  retryCount: number;
  crUrl: string;
  crUsername: string;
  lastEvent: string | null;
  /** ISO time, or null before the first delivered Inform. */
  lastEventAt: string | null;
}

export interface CpeDetail extends CpeSummary {
  recentEvents: Array<{ code: string; at: string }>;
  /** A sample of tree leaves: the forced-inform parameters and a few identity ones. */
  leaves: Array<{ name: string; value: string; type: string }>;
  /** USP: the agent's Endpoint ID, MQTT connection state and subscriptions (empty without --usp-broker). */
  usp?: { endpointId: string; mqtt: MqttConnectionState } | undefined;
  uspSubscriptions: Array<{ path: string; id: string; notifType: string; referenceList: string; enabled: boolean; recipient: string }>;
}

export interface CpePage {
  items: CpeSummary[];
  /** How many matching CPEs this shard skipped to honour the offset. */
  skipped: number;
}

export type StateCounts = Record<LifecycleState, number>;

export interface ShardStats {
  states: StateCounts;
  bootstraps: number;
  sessionsOk: number;
  sessionsFailed: number;
  periodicTicks: number;
  faultsInjected: number;
  /** Injected faults answered, by code. */
  injectedFaults: Record<string, number>;
  /** Failed CWMP sessions by reason (connect, timeout, auth, http-status, ..., descriptors), and failed or lost USP MQTT connections by cause as usp-<cause> (usp-descriptors, usp-closed, ...). */
  failReasons: Record<string, number>;
  /** Failed sessions that got an HTTP answer, by status code. */
  failStatuses?: Record<string, number>;
  /** Retries moved later by an ACS's Retry-After. */
  retryAfterHonored?: number;
  activeSessions: number;
  queuedSessions: number;
  /** USP agents by MQTT connection state (absent without --usp-broker). */
  uspConnections?: Record<string, number> | undefined;
  /** CPEs by XMPP connection state (absent when the profile has no Device.XMPP or the fleet no CWMP). */
  xmppConnections?: Record<string, number> | undefined;
}

/**
 * What a shard saw since its last sample (histograms) and so far (counters), for the
 * scenario summary, the report and the live page. Latencies are in ms.
 */
export interface ShardSample {
  states: StateCounts;
  /** CPEs in a dark window (power cut, reboot): counted in their lifecycle state too. */
  dark: number;
  /** Fleet-event wave timers (power on, reboot, reset) not fired yet. */
  pendingEvents: number;
  sessionsOk: number;
  sessionsFailed: number;
  /** Failed sessions by reason (and USP MQTT connections as usp-<cause>), so far. */
  failReasons: Record<string, number>;
  /** Failed sessions that got an HTTP answer, by status code, so far. */
  failStatuses: Record<string, number>;
  /** Retries moved later by an ACS's Retry-After, so far. */
  retryAfterHonored: number;
  activeSessions: number;
  queuedSessions: number;
  /** Since the last sample: ACS response time by the CPE message sent (Inform, Empty, ...). */
  acsResponseMs: Record<string, HistogramWire>;
  /** Since the last sample: session length, Inform to end. */
  sessionMs: HistogramWire;
  /** Since the last sample: power-on to ready (first session done, or USP connected). */
  readyMs: HistogramWire;
  usp?: {
    requestsOk: number;
    requestsError: number;
    /** Since the last sample: request handling time, by message type. */
    rttMs: Record<string, HistogramWire>;
    connections: Record<string, number>;
  } | undefined;
}

/**
 * Why a shard thread was restarted, the bounded `reason` label of
 * cpe_sim_process_shard_restarts_total: it ran out of heap (ERR_WORKER_OUT_OF_MEMORY), its
 * task failed with another error, or it ended without one.
 */
export const RESTART_REASONS = ['out-of-memory', 'error', 'exit'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

// ---- main -> shard ----
export type MainToShard =
  | { type: 'cr'; id: number; cpe: number; request: CrRequest }
  | { type: 'inspect'; id: number; cpe: number }
  | { type: 'detail'; id: number; cpe: number }
  | { type: 'list'; id: number; state: LifecycleState | undefined; offset: number; limit: number }
  | { type: 'trigger-cr'; id: number; cpe: number }
  | { type: 'stats'; id: number }
  | { type: 'probe'; id: number }
  | { type: 'fault'; id: number; cpe: number; code: number }
  /** A fleet event (a scenario stage's, or POST /admin/events) starting at epoch ms `at`. */
  | { type: 'event'; id: number; event: FleetEvent; at: number }
  | { type: 'sample'; id: number }
  /** The scripts the shard thread has loaded (src/util/loaded-modules.ts). */
  | { type: 'modules'; id: number }
  /** Tests only (ShardInit.testHooks): allocate until the thread's heap cap ends it. */
  | { type: 'test-exhaust-memory'; id: number }
  | { type: 'stop'; id: number };

// ---- shard -> main ----
export type ShardToMain =
  | { type: 'started'; shardId: number; cpes: number; paramCount: number; baseline: ThreadProbe | undefined }
  | { type: 'fatal'; shardId: number; error: WireError }
  /** The shard's metrics registry as JSON, pushed every 2 s and once more on stop. */
  | { type: 'metrics'; shardId: number; snapshot: MetricsSnapshot }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: WireError };

/** Typed replies by request type. */
export interface ReplyOf {
  cr: CrReply;
  inspect: CpeSummary | null;
  detail: CpeDetail | null;
  list: CpePage;
  'trigger-cr': { crUrl: string; accepted: boolean; reason?: string };
  stats: ShardStats;
  probe: ThreadProbe;
  fault: { queued: number };
  /** CPEs of this shard the event reached. */
  event: { affected: number };
  sample: ShardSample;
  /** Paths relative to the package root (dist/src/..., node_modules/...), and node:<name>. */
  modules: string[];
  /** Never answered when it works: the thread dies. */
  'test-exhaust-memory': never;
  stop: ShardStats;
}
