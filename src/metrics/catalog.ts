// Every metric family of cpe-sim, declared once. Each thread (main and every
// shard) builds the same catalog in its own registry; main merges the shards' snapshots
// with its own (prom-client AggregatorRegistry.aggregate), so buckets are identical
// everywhere and every gauge says how it aggregates. docs/metrics.md lists the families
// and a test keeps the two in step. No family has a per-CPE label; no Summary.
import { Counter, Gauge, Histogram, Registry } from './prom.js';
import { EVENT_CODES } from '../cwmp/events.js';
import { FAIL_REASONS } from '../cwmp/fail-reasons.js';
import { STUN_RESULTS } from '../cwmp/diagnostics.js';
import { UDP_CR_RESULTS } from '../cwmp/udp-cr.js';
import { LIFECYCLE_STATES, MQTT_CONNECTION_STATES, RESTART_REASONS } from '../threads/messages.js';
import { MQTT_FAIL_CAUSES } from '../usp/diagnostics.js';
import { XMPP_CR_RESULTS, XMPP_FAIL_CAUSES } from '../xmpp/labels.js';

export const SESSION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const RESPONSE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const GC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Label values known up front: each is present at 0 from the first scrape. */
export const INFORM_EVENT_CODES: readonly string[] = [...EVENT_CODES, 'M Reboot', 'M ScheduleInform', 'M Download', 'M Upload', 'M ScheduleDownload', 'M ChangeDUState', 'other'];
export const INFORM_RESULTS = ['accepted', 'failed'] as const;
export const CPE_MESSAGES: readonly string[] = [
  'Inform',
  'Empty',
  'GetRPCMethods',
  'TransferComplete',
  'DUStateChangeComplete',
  'Fault',
  'GetRPCMethodsResponse',
  'GetParameterValuesResponse',
  'GetParameterNamesResponse',
  'SetParameterValuesResponse',
  'GetParameterAttributesResponse',
  'SetParameterAttributesResponse',
  'AddObjectResponse',
  'DeleteObjectResponse',
  'RebootResponse',
  'FactoryResetResponse',
  'DownloadResponse',
  'UploadResponse',
  'ScheduleInformResponse',
  'ScheduleDownloadResponse',
  'CancelTransferResponse',
  'GetQueuedTransfersResponse',
  'GetAllQueuedTransfersResponse',
  'ChangeDUStateResponse',
];
export const USP_MSG_TYPES = [
  'ERROR', 'GET', 'GET_RESP', 'NOTIFY', 'SET', 'SET_RESP', 'OPERATE', 'OPERATE_RESP', 'ADD', 'ADD_RESP', 'DELETE', 'DELETE_RESP',
  'GET_SUPPORTED_DM', 'GET_SUPPORTED_DM_RESP', 'GET_INSTANCES', 'GET_INSTANCES_RESP', 'NOTIFY_RESP', 'GET_SUPPORTED_PROTO',
  'GET_SUPPORTED_PROTO_RESP', 'REGISTER', 'REGISTER_RESP', 'DEREGISTER', 'DEREGISTER_RESP',
] as const;
export const USP_RESULTS = ['success', 'error'] as const;
export const USP_DROP_REASONS = ['bad-record', 'bad-msg', 'not-for-me', 'unknown-controller', 'duplicate', 'unexpected', 'notify-backlog', 'bad-reply-to'] as const;
/** Why an agent's MQTT connection failed or was lost, every one at 0 from the start. */
export const USP_CONNECTION_FAIL_REASONS = MQTT_FAIL_CAUSES;
/** The TR-143 tests (src/shard/diag-tests.ts DIAG_TESTS), present at 0 from the first scrape. */
export const DIAG_TEST_LABELS = ['ipPing', 'traceRoute', 'download', 'upload', 'udpEcho', 'serverSelection'] as const;

/** Every MQTT connection state, present at 0 from the first scrape. */
export const USP_MQTT_STATES = MQTT_CONNECTION_STATES;
/** USP error codes an agent can answer with (TR-369 7000-7031, 7100, 7104); others appear when used. */
export const USP_ERROR_CODES: readonly string[] = [...Array.from({ length: 32 }, (_, i) => String(7000 + i)), '7100', '7104'];
export const USP_NOTIFY_KINDS = ['ValueChange', 'ObjectCreation', 'ObjectDeletion', 'Event', 'OperationComplete', 'OnBoardRequest'] as const;
/** CWMP fault codes a CPE can send (TR-069 A.5.1); vendor codes appear when used. */
export const CWMP_FAULT_CODES: readonly string[] = Array.from({ length: 33 }, (_, i) => String(9000 + i));
/** Why CWMP sessions fail (docs/cwmp-behaviour.md "Sessions", "Link faults"), every one at 0 from the start. */
export const SESSION_FAIL_REASONS: readonly string[] = FAIL_REASONS;
/** HTTP statuses a failed session is labelled with as themselves; any other is "other", no answer "none". */
export const FAIL_HTTP_STATUSES = ['400', '401', '403', '404', '405', '408', '429', '500', '502', '503', '504'] as const;
const KNOWN_FAIL_STATUSES = new Set<string>(FAIL_HTTP_STATUSES);

/** The bounded `http_status` label of a failed session: a common code, "other", or "none" when no HTTP answer came. */
export function failStatusLabel(status: number | undefined): string {
  if (status === undefined || status === 0) return 'none';
  const s = String(status);
  return KNOWN_FAIL_STATUSES.has(s) ? s : 'other';
}

/**
 * The (reason, http_status) pairs a failed session can carry, present at 0 from the first
 * scrape: an HTTP status with every code, a refused authentication with 401, too many
 * redirects with a 3xx (other), every other reason without an HTTP answer.
 */
export function sessionFailureLabels(): Array<{ reason: string; http_status: string }> {
  const out: Array<{ reason: string; http_status: string }> = [];
  for (const reason of SESSION_FAIL_REASONS) {
    if (reason === 'http-status') for (const code of [...FAIL_HTTP_STATUSES, 'other']) out.push({ reason, http_status: code });
    else if (reason === 'auth') out.push({ reason, http_status: '401' }, { reason, http_status: 'none' });
    else if (reason === 'redirect') out.push({ reason, http_status: 'other' });
    else out.push({ reason, http_status: 'none' });
  }
  return out;
}
export const ADMIN_ROUTES = ['/', '/live', '/metrics', '/admin/cpes', '/admin/cpes/{id}', '/admin/cpes/{id}/cr', '/admin/cpes/{id}/fault/{code}', '/admin/events', 'unknown'] as const;
export const ADMIN_CODES = ['200', '202', '400', '401', '404', '405', '409', '413', '500'] as const;

export function createCatalog() {
  const registry = new Registry();
  const r = [registry];
  const c = {
    registry,
    // ---- fleet ----
    fleetCpesByState: new Gauge({ name: 'cpe_sim_fleet_cpes_by_state', help: 'CPEs in each lifecycle state, as pushed by the shards every 2 s.', labelNames: ['lifecycle_state'] as const, registers: r, aggregator: 'sum' }),
    fleetBootstraps: new Counter({ name: 'cpe_sim_fleet_bootstraps_total', help: 'Informs carrying 0 BOOTSTRAP that the ACS accepted.', registers: r }),
    fleetFailedSessions: new Counter({ name: 'cpe_sim_fleet_failed_sessions_total', help: 'CWMP sessions that failed (connect, timeout, auth, HTTP status, protocol).', registers: r }),
    fleetPeriodicTicks: new Counter({ name: 'cpe_sim_fleet_periodic_ticks_total', help: 'Periodic inform timers that fired.', registers: r }),
    fleetScheduledEvents: new Counter({ name: 'cpe_sim_fleet_scheduled_events_fired_total', help: 'Scheduled device events that fired: ScheduleInform, transfer starts and time windows, heartbeats.', registers: r }),
    // ---- CWMP ----
    cwmpInforms: new Counter({ name: 'cpe_sim_cwmp_informs_total', help: 'Event codes sent in Informs, by whether the ACS accepted the Inform.', labelNames: ['event_code', 'result'] as const, registers: r }),
    cwmpSessionDuration: new Histogram({ name: 'cpe_sim_cwmp_session_duration_seconds', help: 'CWMP session length, Inform to session end, as the CPEs see it.', buckets: SESSION_BUCKETS, registers: r }),
    cwmpSessionFailures: new Counter({ name: 'cpe_sim_cwmp_session_failures_total', help: 'Failed CWMP sessions by reason (connect, timeout, auth, http-status, ..., the link faults reset, stall, link-down, and the cuts power-off, stopped) and the HTTP status they failed on (common codes, other, none).', labelNames: ['reason', 'http_status'] as const, registers: r }),
    cwmpRetryAfterHonored: new Counter({ name: 'cpe_sim_cwmp_retry_after_honored_total', help: 'Session retries the ACS\'s Retry-After on a 503 or 429 moved later than the TR-069 3.2.1.1 retry window.', registers: r }),
    udpConnectionRequests: new Counter({ name: 'cpe_sim_udp_connection_requests_total', help: 'UDP connection requests (TR-069 Annex G) the CPEs accepted or ignored, by result.', labelNames: ['result'] as const, registers: r }),
    stunBindings: new Counter({ name: 'cpe_sim_stun_bindings_total', help: 'STUN Binding transactions of the CPEs (TR-111 part 2), by result.', labelNames: ['result'] as const, registers: r }),
    cwmpAcsResponse: new Histogram({ name: 'cpe_sim_cwmp_acs_response_seconds', help: 'Time from each POST to the ACS\'s reply, by the CPE message sent.', labelNames: ['message'] as const, buckets: RESPONSE_BUCKETS, registers: r }),
    // ---- USP ----
    uspRequests: new Counter({ name: 'cpe_sim_usp_requests_total', help: 'USP messages handled by the agents, by type and result.', labelNames: ['msg_type', 'result'] as const, registers: r }),
    uspRtt: new Histogram({ name: 'cpe_sim_usp_request_rtt_seconds', help: 'USP request handling time, decode through send.', labelNames: ['msg_type'] as const, buckets: RESPONSE_BUCKETS, registers: r }),
    uspNotifies: new Counter({ name: 'cpe_sim_usp_autonomous_notifies_total', help: 'Autonomous USP Notify messages, by kind and whether a subscription gated them.', labelNames: ['notify_kind', 'gated'] as const, registers: r }),
    uspMqttState: new Gauge({ name: 'cpe_sim_usp_mqtt_connection_state', help: 'USP agents\' MQTT connections (or WebSocket, STOMP ones, per --usp-mtp) in each state, per broker (the MTP endpoint URL).', labelNames: ['broker', 'state'] as const, registers: r, aggregator: 'sum' }),
    uspConnectionFailures: new Counter({ name: 'cpe_sim_usp_mqtt_connection_failures_total', help: 'USP agents\' MQTT connection attempts that failed and connections lost, by reason (descriptors: out of file descriptors or kept for the reserve; connect, rejected, timeout, closed, subscribe, link, error).', labelNames: ['reason'] as const, registers: r }),
    uspDropped: new Counter({ name: 'cpe_sim_usp_records_dropped_total', help: 'Records and Msgs the agents dropped without answering (TR-369 R-MTP.5, R-MSG.4), by reason.', labelNames: ['reason'] as const, registers: r }),
    // ---- XMPP connection requests (TR-069 Annex K) ----
    xmppConnectionRequests: new Counter({ name: 'cpe_sim_xmpp_connection_requests_total', help: 'XMPP connection requests (TR-069 Annex K) the CPEs answered, by result: accepted (iq result, a session follows), not-authorized (wrong username or password), service-unavailable (sender not in ConnReqAllowedJabberIDs).', labelNames: ['result'] as const, registers: r }),
    xmppLogins: new Counter({ name: 'cpe_sim_xmpp_logins_total', help: 'XMPP logins the CPEs completed (stream, SASL, resource bound), by whether TLS was established.', labelNames: ['tls'] as const, registers: r }),
    xmppConnectionFailures: new Counter({ name: 'cpe_sim_xmpp_connection_failures_total', help: 'CPEs\' XMPP connection attempts that failed and connections lost, by reason (connect, tls, auth, bind, timeout, closed, stream-error, link, descriptors, error).', labelNames: ['reason'] as const, registers: r }),
    // ---- faults ----
    rpcFaults: new Counter({ name: 'cpe_sim_rpc_faults_total', help: 'Faults the CPEs answered with (CWMP SOAP faults, USP Error messages), by protocol and code.', labelNames: ['protocol', 'code'] as const, registers: r }),
    // ---- process (each thread reports its own; sums are over all threads) ----
    heapAlloc: new Gauge({ name: 'cpe_sim_process_heap_alloc_bytes', help: 'V8 heap in use plus external memory, summed over all threads.', registers: r, aggregator: 'sum' }),
    residentMemory: new Gauge({ name: 'cpe_sim_process_resident_memory_bytes', help: 'Resident set size of the whole process (every thread, code and native memory included), read at each scrape: what a container memory limit counts.', registers: r, aggregator: 'max' }),
    fdCount: new Gauge({ name: 'cpe_sim_process_open_fds', help: 'Open file descriptors of the process (from /proc/self/fd; the last good count when a read fails; absent where there is no /proc/self/fd).', labelNames: ['os'] as const, registers: r, aggregator: 'max' }),
    fdReadFailures: new Counter({ name: 'cpe_sim_process_open_fds_read_failures_total', help: 'Reads of /proc/self/fd that failed (EMFILE even with the spare descriptor given up); the open-fds gauge then keeps its last good count.', registers: r }),
    fdLimit: new Gauge({ name: 'cpe_sim_process_max_fds', help: 'The process\'s soft limit of open file descriptors (RLIMIT_NOFILE; 0 when unlimited or unreadable).', registers: r, aggregator: 'max' }),
    uptime: new Counter({ name: 'cpe_sim_process_uptime_seconds_total', help: 'Seconds since the process started.', registers: r }),
    gcPause: new Histogram({ name: 'cpe_sim_process_gc_pause_seconds', help: 'Garbage-collection pauses, all threads.', buckets: GC_BUCKETS, registers: r }),
    activeHandles: new Gauge({ name: 'cpe_sim_process_active_handles', help: 'Active libuv handles and requests, summed over all threads (Node\'s counterpart of a goroutine count).', registers: r, aggregator: 'sum' }),
    eventLoopLag: new Gauge({ name: 'cpe_sim_process_event_loop_lag_seconds', help: 'Worst mean event-loop delay over the threads in the last interval.', registers: r, aggregator: 'max' }),
    shardRestarts: new Counter({ name: 'cpe_sim_process_shard_restarts_total', help: 'Shard threads restarted after they died, by reason (out-of-memory: the thread reached its heap cap; error: its task failed; exit: it ended without an error).', labelNames: ['reason'] as const, registers: r }),
    workerThreads: new Gauge({ name: 'cpe_sim_process_worker_threads', help: 'Shard worker threads running.', registers: r, aggregator: 'sum' }),
    // ---- admin ----
    stateWrites: new Counter({ name: 'cpe_sim_state_writes_total', help: 'CPE records written to the state dir (--state-dir), by result: stored once on disk, failed when the write failed (the change then lives in memory only; docs/persistence.md).', labelNames: ['result'] as const, registers: r }),
    diagnostics: new Counter({ name: 'cpe_sim_diagnostics_total', help: 'TR-143 tests the CPEs ran (docs/diagnostics.md), by test, the protocol that asked, and result: complete, error (an Error_* state), canceled (by the ACS or controller, a new request, another parameter written, or a reboot).', labelNames: ['test', 'protocol', 'result'] as const, registers: r }),
    diagnosticsBytes: new Counter({ name: 'cpe_sim_diagnostics_bytes_total', help: 'Body bytes the TR-143 download and upload tests moved over HTTP(S), by test (download, upload).', labelNames: ['test'] as const, registers: r }),
    stateRestoredCpes: new Counter({ name: 'cpe_sim_state_restored_cpes_total', help: 'CPEs read back from the state dir as a shard started: at a process start and at each shard restart (docs/persistence.md).', registers: r }),
    adminRequests: new Counter({ name: 'cpe_sim_admin_requests_total', help: 'Requests to the metrics and admin listener, by route template and HTTP status.', labelNames: ['route', 'code'] as const, registers: r }),
  };
  for (const s of LIFECYCLE_STATES) c.fleetCpesByState.set({ lifecycle_state: s }, 0);
  for (const e of INFORM_EVENT_CODES) for (const res of INFORM_RESULTS) c.cwmpInforms.inc({ event_code: e, result: res }, 0);
  for (const m of CPE_MESSAGES) c.cwmpAcsResponse.zero({ message: m });
  for (const res of UDP_CR_RESULTS) c.udpConnectionRequests.inc({ result: res }, 0);
  for (const res of STUN_RESULTS) c.stunBindings.inc({ result: res }, 0);
  for (const labels of sessionFailureLabels()) c.cwmpSessionFailures.inc(labels, 0);
  for (const t of USP_MSG_TYPES) {
    for (const res of USP_RESULTS) c.uspRequests.inc({ msg_type: t, result: res }, 0);
    c.uspRtt.zero({ msg_type: t });
  }
  for (const k of USP_NOTIFY_KINDS) for (const g of ['true', 'false']) c.uspNotifies.inc({ notify_kind: k, gated: g }, 0);
  for (const code of CWMP_FAULT_CODES) c.rpcFaults.inc({ protocol: 'cwmp', code }, 0);
  for (const code of USP_ERROR_CODES) c.rpcFaults.inc({ protocol: 'usp', code }, 0);
  for (const reason of USP_DROP_REASONS) c.uspDropped.inc({ reason }, 0);
  for (const reason of USP_CONNECTION_FAIL_REASONS) c.uspConnectionFailures.inc({ reason }, 0);
  for (const reason of RESTART_REASONS) c.shardRestarts.inc({ reason }, 0);
  for (const result of XMPP_CR_RESULTS) c.xmppConnectionRequests.inc({ result }, 0);
  for (const tls of ['true', 'false']) c.xmppLogins.inc({ tls }, 0);
  for (const reason of XMPP_FAIL_CAUSES) c.xmppConnectionFailures.inc({ reason }, 0);
  for (const result of ['stored', 'failed']) c.stateWrites.inc({ result }, 0);
  for (const test of DIAG_TEST_LABELS) for (const protocol of ['cwmp', 'usp']) for (const result of ['complete', 'error', 'canceled']) c.diagnostics.inc({ test, protocol, result }, 0);
  for (const test of ['download', 'upload']) c.diagnosticsBytes.inc({ test }, 0);
  for (const route of ADMIN_ROUTES) for (const code of ADMIN_CODES) c.adminRequests.inc({ route, code }, 0);
  return c;
}

export type Catalog = ReturnType<typeof createCatalog>;
