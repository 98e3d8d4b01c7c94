// One thread's metrics: the catalog in a registry of its own, fed by the protocol
// diagnostics channels (one instrumentation point per boundary: every CWMP message passes
// session.ts's exchange) and by the thread's own process readings.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { informChannel, messageChannel, sessionChannel, stunChannel, tickChannel, udpCrChannel, type InformEvent, type MessageEvent, type SessionEvent, type StunEvent, type TickEvent, type UdpCrEvent } from '../cwmp/diagnostics.js';
import type { LifecycleState, MetricsSnapshot } from '../threads/messages.js';
import { ChannelSubscriptions } from '../util/channels.js';
import { activeHandles } from '../util/probe.js';
import { diagnosticChannel, type DiagnosticEvent } from '../shard/diag-channel.js';
import { xmppConnectionFailureChannel, xmppConnectionRequestChannel, xmppLoginChannel, type XmppConnectionFailureEvent, type XmppConnectionRequestEvent, type XmppLoginEvent } from '../xmpp/diagnostics.js';
import { stateRestoreChannel, stateWriteChannel, type StateRestoreEvent, type StateWriteEvent } from '../persist/diagnostics.js';
import { uspConnectionFailureChannel, uspDropChannel, uspNotifyChannel, uspRequestChannel, type UspConnectionFailureEvent, type UspDropEvent, type UspNotifyEvent, type UspRequestEvent } from '../usp/diagnostics.js';
import { CPE_MESSAGES, createCatalog, failStatusLabel, INFORM_EVENT_CODES, SESSION_FAIL_REASONS, USP_MQTT_STATES, type Catalog } from './catalog.js';

const LAG_RESOLUTION_MS = 20;
const KNOWN_CODES = new Set(INFORM_EVENT_CODES);
const KNOWN_MESSAGES = new Set(CPE_MESSAGES);
const KNOWN_REASONS = new Set(SESSION_FAIL_REASONS);

export class ThreadMetrics {
  readonly catalog: Catalog = createCatalog();
  private readonly lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  private readonly gc: PerformanceObserver;
  private readonly subs = new ChannelSubscriptions();

  constructor() {
    const c = this.catalog;
    const on = <T>(ch: Parameters<ChannelSubscriptions['on']>[0], fn: (m: T) => void) => this.subs.on(ch, fn);
    on<MessageEvent>(messageChannel, (m) => {
      c.cwmpAcsResponse.observe({ message: KNOWN_MESSAGES.has(m.sent) ? m.sent : 'Fault' }, m.seconds);
      if (m.faultCode !== undefined) c.rpcFaults.inc({ protocol: 'cwmp', code: String(m.faultCode) });
    });
    on<InformEvent>(informChannel, (e) => {
      for (const code of e.events) c.cwmpInforms.inc({ event_code: KNOWN_CODES.has(code) ? code : 'other', result: e.result });
      if (e.result === 'accepted' && e.events.includes('0 BOOTSTRAP')) c.fleetBootstraps.inc();
    });
    on<SessionEvent>(sessionChannel, (e) => {
      c.cwmpSessionDuration.observe(e.seconds);
      if (!e.ok) {
        c.fleetFailedSessions.inc();
        c.cwmpSessionFailures.inc({ reason: e.reason !== undefined && KNOWN_REASONS.has(e.reason) ? e.reason : 'protocol', http_status: failStatusLabel(e.status) });
      }
      if (e.retryAfterHonored) c.cwmpRetryAfterHonored.inc();
    });
    on<UspRequestEvent>(uspRequestChannel, (e) => {
      c.uspRequests.inc({ msg_type: e.msgType, result: e.result });
      c.uspRtt.observe({ msg_type: e.msgType }, e.seconds);
      if (e.errCode !== undefined) c.rpcFaults.inc({ protocol: 'usp', code: String(e.errCode) });
    });
    on<UspNotifyEvent>(uspNotifyChannel, (e) => c.uspNotifies.inc({ notify_kind: e.kind, gated: String(e.gated) }));
    on<UspDropEvent>(uspDropChannel, (e) => c.uspDropped.inc({ reason: e.reason }));
    on<UspConnectionFailureEvent>(uspConnectionFailureChannel, (e) => c.uspConnectionFailures.inc({ reason: e.cause }));
    on<XmppConnectionRequestEvent>(xmppConnectionRequestChannel, (e) => c.xmppConnectionRequests.inc({ result: e.result }));
    on<XmppLoginEvent>(xmppLoginChannel, (e) => c.xmppLogins.inc({ tls: String(e.tls) }));
    on<XmppConnectionFailureEvent>(xmppConnectionFailureChannel, (e) => c.xmppConnectionFailures.inc({ reason: e.cause }));
    on<StateWriteEvent>(stateWriteChannel, (e) => c.stateWrites.inc({ result: e.result }));
    on<StateRestoreEvent>(stateRestoreChannel, (e) => c.stateRestoredCpes.inc(e.cpes));
    on<DiagnosticEvent>(diagnosticChannel, (e) => {
      c.diagnostics.inc({ test: e.test, protocol: e.protocol, result: e.result });
      if (e.bytes > 0) c.diagnosticsBytes.inc({ test: e.test }, e.bytes);
    });
    on<UdpCrEvent>(udpCrChannel, (e) => c.udpConnectionRequests.inc({ result: e.result }));
    on<StunEvent>(stunChannel, (e) => c.stunBindings.inc({ result: e.result }));
    on<TickEvent>(tickChannel, (t) => (t.kind === 'periodic' ? c.fleetPeriodicTicks : c.fleetScheduledEvents).inc());
    this.lag.enable();
    this.gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) c.gcPause.observe(e.duration / 1000);
    });
    this.gc.observe({ entryTypes: ['gc'] });
  }

  /** Refresh this thread's gauges and return its registry as JSON (structured-clone safe). */
  async snapshot(states?: Record<LifecycleState, number>, usp?: { broker: string; counts: Record<string, number> }): Promise<MetricsSnapshot> {
    const c = this.catalog;
    if (states) for (const [s, n] of Object.entries(states)) c.fleetCpesByState.set({ lifecycle_state: s }, n);
    if (usp) for (const s of USP_MQTT_STATES) c.uspMqttState.set({ broker: usp.broker, state: s }, usp.counts[s] ?? 0);
    const h = getHeapStatistics();
    c.heapAlloc.set(h.used_heap_size + h.external_memory);
    c.activeHandles.set(activeHandles());
    // The histogram's samples include its own sampling interval: take it off.
    c.eventLoopLag.set(Number.isFinite(this.lag.mean) ? Math.max(0, this.lag.mean - LAG_RESOLUTION_MS * 1e6) / 1e9 : 0);
    this.lag.reset();
    return (await c.registry.getMetricsAsJSON()) as MetricsSnapshot;
  }

  close(): void {
    this.subs.close();
    this.lag.disable();
    this.gc.disconnect();
  }
}
