// XMPP connection requests (TR-069 Amendment 6 Annex K; docs/cwmp-behaviour.md "XMPP
// connection requests"): each CPE whose ManagementServer.ConnReqXMPPConnection points at
// an enabled Device.XMPP.Connection.{i} keeps one XMPP client connection to its server,
// logged in with that row's Username/Password/Domain/Resource, publishes the JID the
// server bound as the row's JabberID and ManagementServer.ConnReqJabberID, sends
// whitespace keepalives every KeepAliveInterval seconds, reconnects in the
// ServerRetryInitialInterval/ServerRetryIntervalMultiplier/ServerRetryMaxInterval
// windows, and answers connectionRequest iqs (src/xmpp/conn-req.ts). Per CPE it keeps a
// state byte, a retry count and two due times (10 bytes, once a CPE turns XMPP on); a CPE with XMPP on also holds its
// connection and a small record of what its tree shows (Status, JabberID, ...).
import { resolveSrv } from 'node:dns/promises';
import { retryDelayMs } from '../scheduler/backoff.js';
import type { XmppInit } from '../threads/messages.js';
import type { XmppClient, XmppFailCause } from '../xmpp/client.js';
import type { XmlEl } from '../xmpp/xml-stream.js';
import { publishXmppConnectionFailure, publishXmppConnectionRequest, publishXmppLogin } from '../xmpp/diagnostics.js';
import { isoSeconds } from '../datamodel/datetime.js';
import { FailureLog } from './failure-log.js';
import type { CpeTable } from './table.js';
import { TimerKind } from './timer-kind.js';
import { Conn, ConnStates } from './conn-states.js';
import { DueTimes } from '../scheduler/times.js';

/** Device.XMPP.Connection.{i} settings as one attempt reads them from the tree. */
interface Settings {
  /** The row, e.g. "Device.XMPP.Connection.1" (no trailing dot). */
  base: string;
  username: string;
  password: string;
  domain: string;
  resource: string;
  useTls: boolean;
  keepAliveSec: number;
  algorithm: string;
  server: { host: string; port: number } | undefined;
  retry: { minWait: number; multiplier: number; maxMs: number };
}

/** What a CPE's tree shows of its XMPP connection (fixed values under the overlay). */
interface Live {
  base: string;
  jid: string;
  status: string;
  tls: boolean;
  changedAt: number;
  /** The settings the current connection was made with, to see an ACS's change. */
  fingerprint: string;
  values: Map<string, string> | undefined;
}

export interface XmppHooks {
  /** An accepted connection request: a session with 6 CONNECTION REQUEST follows. */
  connectionRequest(l: number): void;
  /** The device changed ConnReqJabberID itself (a new JID bound): report it as a value change. */
  deviceChanged(l: number, paths: readonly string[]): void;
}


/** The XMPP client and the connection-request code, loaded by a shard's first XMPP connection. */
type XmppCode = typeof import('../xmpp/client.js') & typeof import('../xmpp/conn-req.js');
let xmppCode: Promise<XmppCode> | undefined;
function loadXmppCode(): Promise<XmppCode> {
  return (xmppCode ??= Promise.all([import('../xmpp/client.js'), import('../xmpp/conn-req.js')]).then(([client, connReq]) => ({ ...client, ...connReq })));
}

/** Holds a CPE's slot while the server's address (and, once, the XMPP code) is on its way: a power-off in between finds it. */
class PendingClient {
  state: 'idle' | 'closed' = 'idle';
  close(): void {
    this.state = 'closed';
  }
  abort(): void {
    this.state = 'closed';
  }
  cut(): void {
    this.state = 'closed';
  }
  whitespace(): void {}
}

/** The login (TCP to bound and present) must finish within this. */
const LOGIN_TIMEOUT_MS = 30_000;

export class XmppSide {
  private readonly states: ConnStates;
  /**
   * Per CPE: the retry count and the epoch ms of the planned reconnect / keepalive (0 when
   * none: a stale timer entry is ignored). Allocated when the first CPE turns XMPP on: a
   * fleet whose tree leaves it off holds no bytes for it.
   */
  private perCpe: { retries: Uint8Array; connectAt: DueTimes; keepAt: DueTimes } | undefined;
  private readonly clients = new Map<number, XmppClient | PendingClient>();
  private readonly live = new Map<number, Live>();
  private stopping = false;
  readonly failures: FailureLog;
  private readonly root: string;

  constructor(
    private readonly init: XmppInit | undefined,
    private readonly table: CpeTable,
    private readonly hooks: XmppHooks,
  ) {
    this.states = new ConnStates(table.size);
    this.root = table.template.rootName;
    this.failures = new FailureLog((msg, extra) => table.log('warn', msg, extra), 'XMPP connection failed');
  }

  /** Does this template have what Annex K needs (a TR-181 Device.XMPP.Connection table)? */
  static supported(table: Pick<CpeTable, 'template'>): boolean {
    const xmpp = table.template.root.children.get('XMPP');
    return xmpp?.kind === 'object' && xmpp.children.get('Connection') !== undefined;
  }

  private arrays(): { retries: Uint8Array; connectAt: DueTimes; keepAt: DueTimes } {
    this.perCpe ??= { retries: new Uint8Array(this.table.size), connectAt: new DueTimes(this.table.size, this.table.timeBase), keepAt: new DueTimes(this.table.size, this.table.timeBase) };
    return this.perCpe;
  }

  /** Bytes of the per-CPE arrays (none until a CPE turns XMPP on). */
  heldBytes(): number {
    const a = this.perCpe;
    return this.states.byteLength + (a ? a.retries.byteLength + a.connectAt.byteLength + a.keepAt.byteLength : 0);
  }

  /** The fleet turned XMPP on (--xmpp-server), rather than leaving it to the profile. */
  get fleetWide(): boolean {
    return this.init?.server !== undefined;
  }

  isUp(l: number): boolean {
    return this.states.get(l) === Conn.Up;
  }

  countsByState(): { disconnected: number; connecting: number; connected: number; backoff: number } {
    return this.states.countsByState();
  }

  /** Values the tree shows for this CPE's XMPP connection, if it has one. */
  values(l: number): ReadonlyMap<string, string> | undefined {
    const e = this.live.get(l);
    if (!e) return undefined;
    if (!e.values) {
      e.values = new Map([
        [`${e.base}.Status`, e.status],
        [`${e.base}.JabberID`, e.jid],
        [`${e.base}.TLSEstablished`, String(e.tls)],
        [`${e.base}.LastChangeDate`, isoSeconds(e.changedAt)],
        [`${this.root}.ManagementServer.ConnReqJabberID`, e.jid],
      ]);
    }
    return e.values;
  }

  private show(l: number, base: string, patch: Partial<Pick<Live, 'jid' | 'status' | 'tls' | 'fingerprint'>>): void {
    let e = this.live.get(l);
    if (!e) {
      e = { base, jid: '', status: 'Disabled', tls: false, changedAt: this.table.clock.now(), fingerprint: '', values: undefined };
      this.live.set(l, e);
    }
    if (patch.status !== undefined && patch.status !== e.status) e.changedAt = this.table.clock.now();
    Object.assign(e, patch, { base, values: undefined });
  }

  /** The connection's settings from the tree now; undefined when XMPP is off for this CPE. */
  private settings(l: number): Settings | undefined {
    const v = this.table.view(l);
    const ref = (v.get(`${this.root}.ManagementServer.ConnReqXMPPConnection`) ?? '').replace(/\.$/, '');
    if (!ref || v.get(`${ref}.Enable`) !== 'true') return undefined;
    const num = (p: string, dflt: number): number => {
      const n = Number(v.get(`${ref}.${p}`));
      return Number.isFinite(n) && v.get(`${ref}.${p}`) !== '' ? n : dflt;
    };
    const algorithm = v.get(`${ref}.ServerConnectAlgorithm`) ?? 'DNS-SRV';
    let server: Settings['server'];
    if (algorithm === 'ServerTable') {
      const rows = v
        .instancesOf(`${this.root}.XMPP.Connection.{i}.Server.{i}.`)
        .filter((r) => r.path.startsWith(`${ref}.Server.`) && v.get(`${r.path}Enable`) === 'true' && (v.get(`${r.path}ServerAddress`) ?? '') !== '')
        .map((r) => ({ host: v.get(`${r.path}ServerAddress`)!, port: Number(v.get(`${r.path}Port`)) || 5222, priority: Number(v.get(`${r.path}Priority`)) || 0 }))
        .sort((a, b) => a.priority - b.priority);
      if (rows[0]) server = { host: rows[0].host, port: rows[0].port };
    }
    return {
      base: ref,
      username: v.get(`${ref}.Username`) ?? '',
      password: v.get(`${ref}.Password`) ?? '',
      domain: v.get(`${ref}.Domain`) ?? '',
      resource: v.get(`${ref}.Resource`) ?? '',
      useTls: v.get(`${ref}.UseTLS`) === 'true',
      keepAliveSec: num('KeepAliveInterval', -1),
      algorithm,
      server,
      retry: { minWait: num('ServerRetryInitialInterval', 60), multiplier: num('ServerRetryIntervalMultiplier', 2000), maxMs: num('ServerRetryMaxInterval', 30720) * 1000 },
    };
  }

  private static fingerprint(s: Settings): string {
    return JSON.stringify([s.base, s.username, s.password, s.domain, s.resource, s.useTls, s.algorithm, s.server]);
  }

  /** Power-on: connect when the tree enables XMPP (a fresh power-on starts with retry 0). */
  powerOn(l: number): void {
    this.connect(l, true);
  }

  /** Power-off (reboot, reset, power cut): the connection goes; no reconnect until power-on. */
  powerOff(l: number, abrupt: boolean): void {
    this.drop(l, abrupt);
    const e = this.live.get(l);
    if (e) this.show(l, e.base, { status: 'Disabled', tls: false });
  }

  /** After an ACS or controller wrote to the tree: reconnect when the connection's settings changed. */
  recheck(l: number): void {
    if (this.stopping || !this.table.isPoweredOn(l)) return;
    const s = this.settings(l);
    const e = this.live.get(l);
    if (!s) {
      if (this.states.get(l) !== Conn.Off) this.drop(l, false);
      if (e) this.show(l, e.base, { status: 'Disabled', tls: false, fingerprint: '' });
      return;
    }
    if (e && e.fingerprint === XmppSide.fingerprint(s) && this.states.get(l) !== Conn.Off) return;
    this.drop(l, false);
    this.connect(l, true);
  }

  private drop(l: number, abrupt: boolean): void {
    this.perCpe?.connectAt.set(l, 0);
    this.perCpe?.keepAt.set(l, 0);
    const c = this.clients.get(l);
    this.clients.delete(l);
    if (this.states.get(l) !== Conn.Off) this.states.set(l, Conn.Off);
    if (abrupt) c?.abort();
    else c?.close();
  }

  connect(l: number, fresh = false): void {
    if (fresh && this.perCpe) this.perCpe.retries[l] = 0;
    if (this.stopping) return;
    const old = this.clients.get(l);
    if (old && (old.state === 'connecting' || old.state === 'up')) return;
    const s = this.settings(l);
    if (!s) return;
    const fingerprint = XmppSide.fingerprint(s);
    if (!s.username || !s.domain || (s.algorithm === 'ServerTable' && !s.server)) {
      // Nothing to log in with or to: no attempts until an ACS fixes the row.
      this.show(l, s.base, { status: 'Error_Misconfigured', fingerprint });
      return;
    }
    this.show(l, s.base, { status: 'Connecting', fingerprint });
    this.arrays();
    this.states.set(l, Conn.Connecting);
    const fault = this.table.linkFault(l);
    if (fault?.down) return this.down(l, s, 'link down', 'link');
    const refused = this.table.fdRefusal('xmpp');
    if (refused !== undefined) return this.down(l, s, refused, 'descriptors');
    const target = s.server
      ? Promise.resolve(s.server)
      : s.algorithm === 'DNS-SRV'
        ? resolveSrv(`_xmpp-client._tcp.${s.domain}`).then(
            (rr) => (rr.length > 0 ? { host: rr.sort((a, b) => a.priority - b.priority)[0]!.name, port: rr[0]!.port } : { host: s.domain, port: 5222 }),
            () => ({ host: s.domain, port: 5222 }),
          )
        : Promise.resolve({ host: s.domain, port: 5222 });
    // Held until the address is known, so a power-off in between finds nothing to close.
    const placeholder = new PendingClient();
    this.clients.set(l, placeholder);
    void Promise.all([target, loadXmppCode()]).then(([server, { XmppClient, isConnectionRequest, answerConnectionRequest }]) => {
      if (this.clients.get(l) !== placeholder || this.stopping) {
        this.table.fdReleased('xmpp');
        return;
      }
      const client: XmppClient = new XmppClient(
        { host: server.host, port: server.port, domain: s.domain, username: s.username, password: s.password, resource: s.resource, useTls: s.useTls, ca: this.init?.ca, timeoutMs: LOGIN_TIMEOUT_MS },
        {
          onUp: (jid, tls) => this.clients.get(l) === client && this.up(l, s, jid, tls),
          onDown: (reason, cause) => this.clients.get(l) === client && this.down(l, s, reason, cause),
          onStanza: (el) => this.clients.get(l) === client && el.name === 'iq' && isConnectionRequest(el) && this.connectionRequest(l, client, el, answerConnectionRequest),
          onSocketClosed: () => this.table.fdReleased('xmpp'),
        },
      );
      this.clients.set(l, client);
      client.connect();
    });
  }

  private up(l: number, s: Settings, jid: string, tls: boolean): void {
    const a = this.arrays();
    this.states.set(l, Conn.Up);
    a.retries[l] = 0;
    publishXmppLogin({ tls });
    const before = this.live.get(l)?.jid ?? '';
    this.show(l, s.base, { status: 'Enabled', jid, tls });
    if (jid !== before) this.hooks.deviceChanged(l, [`${this.root}.ManagementServer.ConnReqJabberID`]);
    if (s.keepAliveSec > 0) {
      const at = this.table.clock.now() + s.keepAliveSec * 1000;
      a.keepAt.set(l, at);
      this.table.schedule(at, l, TimerKind.XmppKeepAlive);
    }
  }

  private down(l: number, s: Settings, reason: string, cause: XmppFailCause): void {
    if (this.stopping) return;
    this.clients.get(l)?.abort();
    const a = this.arrays();
    a.keepAt.set(l, 0);
    this.failures.record(this.table.clock.now(), this.table.lo + l, cause, reason);
    publishXmppConnectionFailure({ cause });
    const status = cause === 'connect' || cause === 'timeout' ? 'ServerNotPresent' : cause === 'auth' ? 'Error_AuthenticationFailure' : cause === 'closed' ? 'Connecting' : 'Error';
    this.show(l, s.base, { status, tls: false });
    a.retries[l] = Math.min(255, a.retries[l]! + 1);
    const at = this.table.clock.now() + retryDelayMs(a.retries[l]!, s.retry, this.table.random);
    a.connectAt.set(l, at);
    this.states.set(l, Conn.Backoff);
    this.table.schedule(at, l, TimerKind.XmppConnect);
  }

  /** A connectionRequest iq (Annex K): answer it; an accepted one asks for a session. */
  private connectionRequest(l: number, client: XmppClient, iq: XmlEl, answerConnectionRequest: XmppCode['answerConnectionRequest']): boolean {
    const v = this.table.view(l);
    const ms = `${this.root}.ManagementServer`;
    const { result, reply } = answerConnectionRequest(iq, {
      username: v.get(`${ms}.ConnectionRequestUsername`) ?? '',
      password: v.get(`${ms}.ConnectionRequestPassword`) ?? '',
      allowed: v.get(`${ms}.ConnReqAllowedJabberIDs`) ?? '',
    });
    client.send(reply);
    publishXmppConnectionRequest({ result });
    if (result === 'accepted') this.hooks.connectionRequest(l);
    else this.table.log('debug', 'XMPP connection request refused', { cpe: this.table.lo + l, result, from: iq.attrs['from'] });
    return true;
  }

  fire(l: number, kind: TimerKind.XmppConnect | TimerKind.XmppKeepAlive, at: number): void {
    const a = this.perCpe;
    if (this.stopping || !a) return;
    if (kind === TimerKind.XmppConnect) {
      if (a.connectAt.get(l) !== at) return;
      a.connectAt.set(l, 0);
      this.connect(l);
      return;
    }
    if (a.keepAt.get(l) !== at || this.states.get(l) !== Conn.Up) return;
    this.clients.get(l)?.whitespace();
    const s = this.settings(l);
    if (s && s.keepAliveSec > 0) {
      const next = at + s.keepAliveSec * 1000;
      a.keepAt.set(l, next);
      this.table.schedule(next, l, TimerKind.XmppKeepAlive);
    } else a.keepAt.set(l, 0);
  }

  /** A fleet event's link down: the connection dies and backs off. */
  cut(l: number, reason: string): void {
    this.clients.get(l)?.cut(reason);
  }

  /** Close every connection, ending each stream. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await Promise.resolve();
  }
}
