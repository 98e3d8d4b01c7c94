// One CWMP session of one CPE, from the device's side (TR-069 Amendment 6 3.7.1): the
// state it carries from its Inform to its end, as one object, and how each ACS request is
// served against the CPE's tree. src/cwmp/session.ts walks the message exchange; this
// object is the CPE behind it.
import { EV, eventsOf, TIED_TO_REQUEST } from '../cwmp/events.js';
import { buildInform, MAX_INFORM_EVENTS } from '../cwmp/inform.js';
import { serveRpc } from '../cwmp/rpc/index.js';
import { MAX_ADD_OBJECTS_PER_SESSION } from '../cwmp/rpc/params.js';
import { runSession, type SessionHost, type SessionOutcome } from '../cwmp/session.js';
import { AcsHttpSession, type ConnectionPool, type CutReason } from '../cwmp/transport.js';
import type { AcsRequest, CpeMessage, CpeRequest, EventStruct, Inform, ParameterValue } from '../cwmp/types.js';
import { CwmpFlag, type CwmpState } from './cwmp-state.js';
import type { EventLog } from './event-log.js';
import type { FaultHook } from './fault-hook.js';
import type { Notifications } from './notifications.js';
import type { CpeTable } from './table.js';

/** What a session needs of its CPE's CWMP side. */
/** ACS requests that change nothing a device keeps: no store write before their answer. */
const READ_ONLY: ReadonlySet<string> = new Set(['GetRPCMethods', 'GetParameterNames', 'GetParameterValues', 'GetParameterAttributes', 'GetQueuedTransfers', 'GetAllQueuedTransfers', 'GetOptions']);

export interface SessionDeps {
  table: CpeTable;
  state: CwmpState;
  notifications: Notifications;
  eventLog: EventLog;
  faultHook: FaultHook;
  pool: ConnectionPool;
  acs: { url: string; username: string; password: string; timeoutMs: number; sessionTimeoutMs: number };
  /** A SetParameterValues landed: ManagementServer settings take effect. */
  afterSet(l: number, names: string[], urlBefore: string): void;
  /** The tree changed over CWMP: the USP side looks for subscribed changes. */
  treeChanged(l: number): void;
  /** An ACS acknowledged 0 BOOTSTRAP. */
  bootstrapped(): void;
}

export class CwmpSession implements SessionHost {
  /** Event bits pending when the session started. */
  readonly startEvents: number;
  /** The single events the Inform carried (0 until it is built, and for a heartbeat). */
  informEvents = 0;
  /** The M events (with CommandKeys) the Inform carried. */
  private sentM: EventStruct[] = [];
  /** Notified parameters whose changes the Inform reported. */
  private changed: ParameterValue[] = [];
  /** A 14 HEARTBEAT session: it carries nothing else. */
  private heartbeat = false;
  /** ManagementServer.URL when the session started: a new one means a new bootstrap. */
  readonly url: string;
  private readonly username: string;
  private readonly password: string;
  /** icwmp asks the ACS for its methods in a bootstrap session. */
  private readonly getRpcMethods: CpeRequest = { method: 'GetRPCMethods' };

  constructor(
    private readonly deps: SessionDeps,
    readonly l: number,
  ) {
    this.startEvents = deps.state.events[l]!;
    const view = deps.table.view(l);
    const ms = `${deps.table.template.rootName}.ManagementServer.`;
    this.url = view.get(`${ms}URL`) || deps.acs.url;
    this.username = view.get(`${ms}Username`) ?? deps.acs.username;
    this.password = view.get(`${ms}Password`) ?? deps.acs.password;
  }

  private http: AcsHttpSession | undefined;
  private cutBy: { reason: CutReason; detail: string } | undefined;
  /** AddObject requests served so far in this session. */
  private addObjects = 0;

  /**
   * Cut the session now (its connection reset): the CPE lost power ('power-off'), the session
   * ran past --session-timeout ('too-long') or the stop's grace ran out ('stopped'). It ends
   * failed with that reason; the first cut wins.
   */
  cut(reason: CutReason, detail?: string): void {
    if (this.cutBy) return;
    this.cutBy = { reason, detail: detail ?? '' };
    this.http?.abort(reason, detail);
  }

  /** Run the session over one pooled connection. Never throws: an unusable URL is a failed session. */
  async run(): Promise<SessionOutcome> {
    let outcome: SessionOutcome;
    let http: AcsHttpSession | undefined;
    // The session as a whole is bounded (docs/cwmp-behaviour.md "Sessions"): every exchange
    // is bounded by --acs-timeout, but an ACS may keep sending requests.
    const limitMs = this.deps.acs.sessionTimeoutMs;
    const limit = setTimeout(() => this.cut('too-long', `the session ran past --session-timeout (${limitMs / 1000} s)`), limitMs);
    try {
      const { table } = this.deps;
      const l = this.l;
      http = new AcsHttpSession(this.deps.pool, {
        url: this.url,
        username: this.username,
        password: this.password,
        timeoutMs: this.deps.acs.timeoutMs,
        // A fleet event's link fault, looked up before each POST (no per-CPE state).
        link: () => table.linkFault(l),
        random: table.random,
      });
      this.http = http;
      if (this.cutBy) http.abort(this.cutBy.reason, this.cutBy.detail || undefined);
      outcome = await runSession(this, http);
    } catch (e) {
      // An unusable ManagementServer.URL lands here as well as bugs: a failed session, retried.
      this.deps.table.log('warn', 'session could not run', { cpe: this.deps.table.lo + this.l, url: this.url, error: (e as Error).message });
      outcome = { ok: false, reason: 'connect', detail: (e as Error).message, informDelivered: false };
    }
    clearTimeout(limit);
    http?.close(outcome.ok);
    return outcome;
  }

  inform(): Inform {
    const { table, state, notifications } = this.deps;
    const l = this.l;
    const v = table.view(l);
    const now = table.clock.now();
    const hb = state.heartbeats.get(l);
    // The retry of a failed session goes first; the heartbeat waits for it.
    if (hb?.pending && state.retries[l] === 0) {
      // 14 HEARTBEAT goes alone in its own session; anything else follows after (docs/cwmp-behaviour.md "Heartbeat").
      this.heartbeat = true;
      if (state.events[l]) state.flags[l]! |= CwmpFlag.Again;
      return buildInform(v, [{ code: '14 HEARTBEAT', commandKey: '' }], 0, now);
    }
    // TR-069 A.3.3.1: changed notified parameters ride in ParameterList with 4 VALUE CHANGE
    this.changed = notifications.forInform(l, v);
    if (this.changed.length > 0) state.events[l]! |= EV.VALUE_CHANGE;
    this.informEvents = state.events[l]!;
    const singles = eventsOf(this.informEvents).map((code) => ({ code, commandKey: '' }));
    // TR-069 A.3.3.1 allows 64 EventStructs: M events past that wait for the next session.
    const mEvents = table.device.mEvents(l);
    this.sentM = mEvents.slice(0, Math.max(0, MAX_INFORM_EVENTS - singles.length));
    if (this.sentM.length < mEvents.length) state.flags[l]! |= CwmpFlag.Again;
    return buildInform(v, [...singles, ...this.sentM], state.retries[l]!, now, this.changed);
  }

  /** A write is stored before the ACS hears it succeeded (docs/persistence.md "Durability"). */
  beforeAnswer(req: AcsRequest, out: CpeMessage): Promise<unknown> | undefined {
    const { table } = this.deps;
    if (!table.persisting || out.method === 'Fault' || READ_ONLY.has(req.method)) return undefined;
    return table.durable(this.l);
  }

  informAccepted(): void {
    const { table, state, eventLog } = this.deps;
    const l = this.l;
    const at = table.clock.now();
    if (this.heartbeat) {
      const hb = state.heartbeats.get(l);
      if (hb) hb.pending = false;
      eventLog.record(l, '14 HEARTBEAT', at);
      return;
    }
    // Codes tied to a CPE request (7 TRANSFER COMPLETE...) stay until its response.
    state.events[l]! &= ~(this.informEvents & ~TIED_TO_REQUEST);
    table.device.informDelivered(l, this.sentM);
    for (const code of eventsOf(this.informEvents)) eventLog.record(l, code, at);
    for (const m of this.sentM) eventLog.record(l, m.code, at);
    if (this.changed.length > 0) this.deps.notifications.delivered(l, this.changed, table.view(l));
    if (this.informEvents & EV.BOOTSTRAP) {
      state.flags[l]! |= CwmpFlag.Bootstrapped;
      this.deps.bootstrapped();
    }
    // What the Inform delivered (0 BOOTSTRAP acknowledged, M events) is stored; not awaited:
    // lost, the CPE says it again after a restart, as TR-069 3.7.1.5 allows.
    if (table.persisting && (this.informEvents & EV.BOOTSTRAP || this.sentM.length > 0)) void table.durable(l);
  }

  /** TransferCompletes first, then GetRPCMethods in a bootstrap session; nothing in a heartbeat. */
  cpeRequests(): CpeRequest[] {
    if (this.heartbeat) return [];
    return [...this.deps.table.device.requests(this.l), ...(this.informEvents & EV.BOOTSTRAP ? [this.getRpcMethods] : [])];
  }

  requestDone(req: CpeRequest, result: 'ok' | 'fault'): void {
    const { device } = this.deps.table;
    const events = this.deps.state.events;
    if (device.requestDone(this.l, req, result)) events[this.l]! &= ~EV.TRANSFER_COMPLETE;
    if (device.duRequestDone(this.l, req, result)) events[this.l]! &= ~EV.DU_STATE_CHANGE_COMPLETE;
    // An acknowledged TransferComplete is forgotten in the store too (not awaited: a repeat is allowed).
    if (this.deps.table.persisting && result === 'ok' && req.method !== 'GetRPCMethods') void this.deps.table.durable(this.l);
  }

  serve(req: AcsRequest): CpeMessage {
    const { table, notifications } = this.deps;
    const l = this.l;
    const injected = this.deps.faultHook.take(l);
    if (injected) return injected;
    if (req.method === 'AddObject' && ++this.addObjects > MAX_ADD_OBJECTS_PER_SESSION) {
      return { method: 'Fault', fault: { code: 9004, message: `Resources exceeded: more than ${MAX_ADD_OBJECTS_PER_SESSION} AddObject requests in one session` } };
    }
    const v = table.view(l);
    try {
      const out = serveRpc(req, { view: v, device: table.device.actions(l), writeRule: (path, value) => table.diagnostics.writeRule(path, value) });
      table.keep(l, v);
      if (out.method === 'Fault') return out;
      if (req.method === 'SetParameterValues') {
        const names = req.params.map((p) => p.name);
        notifications.acsSet(l, names);
        this.deps.afterSet(l, names, this.url);
        table.keep(l, v);
        table.diagnostics.written(l, names);
      }
      if (req.method === 'SetParameterAttributes') notifications.attributesSet(l);
      // One tree, two protocols: a CWMP change is a USP ValueChange/ObjectCreation/Deletion.
      if (req.method === 'SetParameterValues' || req.method === 'AddObject' || req.method === 'DeleteObject') {
        table.keep(l, v);
        this.deps.treeChanged(l);
      }
      return out;
    } catch (e) {
      // A bug serving one RPC costs that RPC (9002), not the shard.
      table.log('warn', 'internal error serving an RPC', { cpe: table.lo + l, method: req.method, error: (e as Error).message });
      return { method: 'Fault', fault: { code: 9002, message: 'Internal error' } };
    } finally {
      table.keep(l, v);
    }
  }
}
