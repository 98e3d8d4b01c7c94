// A shard's UDP endpoint (TR-069 Annex G, TR-111 part 2; docs/cwmp-behaviour.md "UDP
// connection requests and STUN"): ONE datagram socket for all of the shard's CPEs, never
// one per CPE. Through it each CPE with STUNEnable sends its own Binding Requests
// (CONNECTION-REQUEST-BINDING, BINDING-CHANGE after a change) to its STUN server and
// learns its mapped address, which it publishes as ManagementServer.UDPConnectionRequestAddress;
// and on it UDP connection requests arrive, each told apart by its `un` (the CPE's own
// ConnectionRequestUsername), checked (ts window, HMAC-SHA1 sig, replayed id) and, when
// good, turned into a session with 6 CONNECTION REQUEST. Nothing is ever answered on UDP.
//
// Per CPE this keeps a few typed-array slots (21 bytes); transactions in flight, deferred
// notifications and the ids seen in the ts window are sparse maps; the username index
// (open addressing, 8 bytes a slot) is built on the first connection request.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { publishStun, publishUdpCr, type StunResult } from '../cwmp/diagnostics.js';
import { bindingRequest, looksLikeStun, parseStunAnswer, TransactionIds } from '../cwmp/stun.js';
import { parseUdpConnectionRequest, signatureMatches, type UdpCrResult } from '../cwmp/udp-cr.js';
import type { UdpCrFacts } from '../datamodel/context.js';
import type { CpeView } from '../datamodel/view.js';
import type { Clock } from '../scheduler/clock.js';
import { DueTimes, Stamps, type TimeBase } from '../scheduler/times.js';
import type { UdpCrInit } from '../threads/messages.js';
import { TimerKind } from './timer-kind.js';

/** A request's ts may be this far from the CPE's clock, either way (Annex G leaves the window to the CPE). */
export const UDP_CR_TS_WINDOW_S = 60;
/** Ids remembered per shard within the window; past it the oldest go and older ts are refused as stale. */
export const UDP_CR_REPLAY_CACHE = 65_536;
/** First retransmission timeout of a Binding Request; it doubles (RFC 5389 7.2.1). */
const STUN_RTO_MS = 500;
/** Sends of one Binding Request before it counts as a timeout: at 0, 0.5, 1.5 and 3.5 s, given up at 7.5 s. */
const STUN_SENDS = 4;
const DEFAULT_STUN_PORT = 3478;
/**
 * After failed transactions in a row the next one waits the keepalive period times 2^misses,
 * up to this (or the keepalive period itself if longer): a STUN server that does not answer
 * (none runs on the ACS host, the default STUNServerAddress) is not asked every 30 s forever.
 */
const STUN_BACKOFF_CAP_MS = 3_600_000;

export interface UdpCrHost {
  readonly lo: number;
  readonly size: number;
  readonly clock: Clock;
  /** The scheduler's epoch: the STUN due times follow it. */
  readonly timeBase: TimeBase;
  /** The ManagementServer object's path, with the trailing dot. */
  readonly ms: string;
  view(l: number): CpeView;
  isPoweredOn(l: number): boolean;
  schedule(at: number, l: number, kind: TimerKind): void;
  /** A valid connection request: false when the CPE's rate limit refused it, else a session with 6 CONNECTION REQUEST follows. */
  connectionRequest(l: number): boolean;
  /** UDPConnectionRequestAddress changed by itself: report it as its notification attribute says. */
  addressChanged(l: number, path: string): void;
  log(level: 'info' | 'warn' | 'debug', msg: string, extra?: Record<string, unknown>): void;
}

interface Learned {
  /** host:port as published (IPv6 in brackets). */
  text: string;
  nat: boolean;
}

export class UdpCrEndpoint {
  private socket: dgram.Socket | undefined;
  private local = { address: '', port: 0 };
  /** 1 while the CPE runs its STUN client (STUNEnable at power-on or after a write). */
  private readonly stunOn: Uint8Array;
  /** 1 + index into `learned` of the CPE's mapped address; 0: none yet. */
  private readonly addrOf: Uint16Array;
  /** The one valid StunKeepAlive due time per CPE (older heap entries are superseded). */
  private readonly due: DueTimes;
  /** Sends of the transaction in flight. */
  private readonly tries: Uint8Array;
  /** Failed transactions in a row (timeouts, error responses): the keepalive backs off. */
  private readonly misses: Uint8Array;
  /** Put BINDING-CHANGE in the next request. */
  private readonly change: Uint8Array;
  /** When UDPConnectionRequestAddress was last notified (UDPConnectionRequestAddressNotificationLimit). */
  private readonly notifiedAt: Stamps;
  private readonly learned: Learned[] = [];
  private readonly learnedIndex = new Map<string, number>();
  /** Transactions in flight: CPE -> id, and hex id -> CPE. */
  private readonly inFlight = new Map<number, Buffer>();
  private readonly byTid = new Map<string, number>();
  /** CPEs whose address change waits out the notification limit. */
  private readonly deferred = new Set<number>();
  /** `<l> <id>` -> ts (s) of connection requests accepted past the signature, insertion ordered. */
  private readonly seen = new Map<string, number>();
  /** A ts at or below this may have left `seen`: refused as stale. */
  private floorTs = -1;
  private users: UsernameIndex | undefined;
  /** The ManagementServer paths this endpoint reads (the STUN client's on every send) and announces. */
  private readonly paths: { address: string; server: string; url: string; port: string; username: string; min: string; max: string };
  /** One RNG call per 1,024 transaction ids (a call per id was 5% of a shard at 1M CPEs). */
  private readonly tids = new TransactionIds();

  constructor(
    private readonly host: UdpCrHost,
    private readonly init: UdpCrInit,
    private readonly shardId: number,
  ) {
    const n = host.size;
    this.stunOn = new Uint8Array(n);
    this.addrOf = new Uint16Array(n);
    this.due = new DueTimes(n, host.timeBase);
    this.tries = new Uint8Array(n);
    this.misses = new Uint8Array(n);
    this.change = new Uint8Array(n);
    this.notifiedAt = new Stamps(n);
    const ms = host.ms;
    this.paths = {
      address: `${ms}UDPConnectionRequestAddress`,
      server: `${ms}STUNServerAddress`,
      url: `${ms}URL`,
      port: `${ms}STUNServerPort`,
      username: `${ms}STUNUsername`,
      min: `${ms}STUNMinimumKeepAlivePeriod`,
      max: `${ms}STUNMaximumKeepAlivePeriod`,
    };
  }

  /** Bytes of the per-CPE arrays. */
  heldBytes(): number {
    return this.stunOn.byteLength + this.addrOf.byteLength + this.due.byteLength + this.tries.byteLength + this.misses.byteLength + this.change.byteLength + this.notifiedAt.byteLength;
  }

  /** Bind the shard's socket: the configured port plus the shard id, or an ephemeral port when it is 0. */
  async open(): Promise<void> {
    const family = isIP(this.init.host) === 6 ? 'udp6' : 'udp4';
    const s = dgram.createSocket({ type: family });
    const port = this.init.port === 0 ? 0 : this.init.port + this.shardId;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: this.init.host, port, exclusive: true }, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', (e) => this.host.log('warn', 'UDP connection-request socket error', { error: e.message }));
    s.on('message', (b, rinfo) => this.received(b, rinfo));
    const a = s.address();
    this.local = { address: a.address, port: a.port };
    this.socket = s;
  }

  /** CPE `l`'s STUN client has a Binding Request in flight or one planned (tests, inspection). */
  stunActive(l: number): boolean {
    return this.due.get(l) !== 0 || this.inFlight.has(l);
  }

  get port(): number {
    return this.local.port;
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  /** What CPE `l`'s tree shows of its UDP address (ManagementServer.UDPConnectionRequestAddress, NATDetected). */
  facts(l: number): UdpCrFacts {
    return {
      address: () => {
        if (!this.stunOn[l]) return `${urlHost(this.init.advertiseHost)}:${this.local.port}`;
        const k = this.addrOf[l]!;
        return k ? this.learned[k - 1]!.text : '';
      },
      natDetected: () => (this.stunOn[l] && this.addrOf[l] ? this.learned[this.addrOf[l]! - 1]!.nat : false),
      stunServerAddress: this.init.stunServer?.host ?? '',
      stunServerPort: this.init.stunServer?.port ?? DEFAULT_STUN_PORT,
    };
  }

  // ---- power and settings ----

  powerOn(l: number): void {
    this.restart(l);
  }

  powerOff(l: number): void {
    this.drop(l);
    this.misses[l] = 0;
    this.due.set(l, 0);
    this.deferred.delete(l);
  }

  /** After a write (CWMP or USP) to ManagementServer: STUN settings restart the client, a new username enters the index. */
  afterSet(l: number, names: readonly string[]): void {
    const ms = this.host.ms;
    if (names.some((n) => n.startsWith(`${ms}STUN`))) this.restart(l);
    if (this.users && names.includes(`${ms}ConnectionRequestUsername`)) this.users.add(l, this.username(l));
  }

  private restart(l: number): void {
    this.drop(l);
    this.change[l] = 0;
    this.misses[l] = 0;
    this.stunOn[l] = this.host.view(l).get(`${this.host.ms}STUNEnable`) === 'true' ? 1 : 0;
    if (this.stunOn[l] && this.host.isPoweredOn(l)) this.plan(l, this.host.clock.now());
    else this.due.set(l, 0);
  }

  private drop(l: number): void {
    const tid = this.inFlight.get(l);
    if (tid) {
      this.inFlight.delete(l);
      this.byTid.delete(tid.toString('hex'));
    }
    this.tries[l] = 0;
  }

  private plan(l: number, at: number): void {
    this.due.set(l, at);
    this.host.schedule(at, l, TimerKind.StunKeepAlive);
  }

  // ---- timers ----

  fire(l: number, kind: TimerKind.StunKeepAlive | TimerKind.UdpCrNotify, at: number): void {
    if (kind === TimerKind.UdpCrNotify) {
      if (this.deferred.delete(l) && this.host.isPoweredOn(l)) this.notify(l);
      return;
    }
    if (this.due.get(l) !== at) return;
    this.due.set(l, 0);
    if (!this.stunOn[l] || !this.host.isPoweredOn(l)) return this.drop(l);
    const now = this.host.clock.now();
    let tid = this.inFlight.get(l);
    if (tid && this.tries[l]! >= STUN_SENDS) {
      this.drop(l);
      publishStun({ result: 'timeout' });
      this.plan(l, now + this.afterMiss(l));
      return;
    }
    if (!tid) {
      tid = this.tids.next();
      this.inFlight.set(l, tid);
      this.byTid.set(tid.toString('hex'), l);
      this.tries[l] = 0;
    }
    this.tries[l]!++;
    this.send(l, tid);
    this.plan(l, now + STUN_RTO_MS * 2 ** (this.tries[l]! - 1));
  }

  /** The wait after one more failed transaction in a row: the keepalive period doubled per miss, capped. */
  private afterMiss(l: number): number {
    const n = Math.min(12, ++this.misses[l]!);
    this.misses[l] = n;
    const keep = this.keepAliveMs(l);
    return Math.min(keep * 2 ** n, Math.max(keep, STUN_BACKOFF_CAP_MS));
  }

  /** STUNMinimumKeepAlivePeriod, no longer than STUNMaximumKeepAlivePeriod when that is set (-1: no maximum); at least 1 s. */
  private keepAliveMs(l: number): number {
    const v = this.host.view(l);
    const min = Number(v.get(this.paths.min) ?? 30);
    const max = Number(v.get(this.paths.max) ?? -1);
    const period = max >= 1 && max < min ? max : min;
    return Math.max(1, Number.isFinite(period) ? period : 30) * 1000;
  }

  private send(l: number, tid: Buffer): void {
    const s = this.socket;
    if (!s) return;
    const v = this.host.view(l);
    const p = this.paths;
    let host = v.get(p.server) ?? '';
    // TR-181: an empty STUNServerAddress means the host of the ACS URL.
    if (host === '') host = acsHost(v.get(p.url) ?? '');
    const port = Number(v.get(p.port) || DEFAULT_STUN_PORT);
    if (host === '' || !(port > 0 && port < 65536)) {
      publishStun({ result: 'send-failed' });
      return;
    }
    const msg = bindingRequest({ transactionId: tid, bindingChange: this.change[l] === 1, username: v.get(p.username) ?? '' });
    s.send(msg, port, host, (err) => {
      if (err) {
        publishStun({ result: 'send-failed' });
        this.host.log('debug', 'STUN Binding Request not sent', { cpe: this.host.lo + l, server: `${host}:${port}`, error: err.message });
      }
    });
  }

  // ---- datagrams in ----

  private received(b: Buffer, rinfo: dgram.RemoteInfo): void {
    if (looksLikeStun(b)) this.stunAnswer(b);
    else publishUdpCr({ result: this.connectionRequest(b, rinfo) });
  }

  private stunAnswer(b: Buffer): void {
    const a = parseStunAnswer(b);
    if (!a) return;
    const key = a.transactionId.toString('hex');
    const l = this.byTid.get(key);
    // Not ours (any more): an answer after a timeout, a retransmission's second answer, a forgery.
    if (l === undefined) return;
    this.drop(l);
    const now = this.host.clock.now();
    if (a.kind !== 'success') {
      publishStun({ result: 'error-response' });
      this.plan(l, now + this.afterMiss(l));
      return;
    }
    this.misses[l] = 0;
    const text = `${urlHost(a.mapped.address)}:${a.mapped.port}`;
    const before = this.addrOf[l]!;
    const k = this.learnedSlot(text, a.mapped.address, a.mapped.port);
    const sentChange = this.change[l] === 1;
    this.change[l] = 0;
    let result: StunResult = 'same';
    if (k !== before) {
      this.addrOf[l] = k;
      result = 'new';
      // TR-111: the next Binding Request after a change carries BINDING-CHANGE; send it now.
      if (before !== 0) this.change[l] = 1;
      this.notify(l);
    }
    publishStun({ result });
    if (this.change[l] && !sentChange) this.plan(l, now);
    else this.plan(l, now + this.keepAliveMs(l));
  }

  private learnedSlot(text: string, address: string, port: number): number {
    const have = this.learnedIndex.get(text);
    if (have !== undefined) return have;
    // A shard sees one mapped address per STUN server and NAT: a handful. Past 65,535 the last slot is reused.
    if (this.learned.length >= 65_535) {
      this.learnedIndex.delete(this.learned.pop()!.text);
    }
    this.learned.push({ text, nat: this.isNat(address, port) });
    this.learnedIndex.set(text, this.learned.length);
    return this.learned.length;
  }

  /** NATDetected: the mapped transport address is not the socket's own. */
  private isNat(address: string, port: number): boolean {
    if (port !== this.local.port) return true;
    const own = this.local.address;
    if (own !== '0.0.0.0' && own !== '::') return address !== own;
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (i.address === address) return false;
    return true;
  }

  /** Report a changed address, no sooner than UDPConnectionRequestAddressNotificationLimit after the last report. */
  private notify(l: number): void {
    const now = this.host.clock.now();
    const limitS = Number(this.host.view(l).get(`${this.host.ms}UDPConnectionRequestAddressNotificationLimit`) ?? 0) || 0;
    const last = this.notifiedAt.get(l);
    if (last > 0 && limitS > 0 && now - last < limitS * 1000) {
      if (!this.deferred.has(l)) {
        this.deferred.add(l);
        this.host.schedule(last + limitS * 1000, l, TimerKind.UdpCrNotify);
      }
      return;
    }
    this.notifiedAt.set(l, now);
    this.host.addressChanged(l, this.paths.address);
  }

  /** One datagram that is not STUN: a UDP connection request, checked in the order of docs/cwmp-behaviour.md. */
  private connectionRequest(b: Buffer, rinfo: dgram.RemoteInfo): UdpCrResult {
    const m = parseUdpConnectionRequest(b);
    if (!m) return this.ignored('malformed', rinfo);
    const nowS = Math.floor(this.host.clock.now() / 1000);
    const ts = Number(m.ts);
    if (Math.abs(nowS - ts) > UDP_CR_TS_WINDOW_S || ts <= this.floorTs) return this.ignored('stale', rinfo);
    this.users ??= new UsernameIndex(this.host.size, (l) => this.username(l));
    const named = this.users.findAll(m.un);
    if (named.length === 0) return this.ignored('unknown-user', rinfo);
    // A CPE that is off or rebooting hears nothing.
    const on = named.filter((c) => this.host.isPoweredOn(c));
    if (on.length === 0) return 'offline';
    // Several CPEs may share a CR username (--cr-username without a placeholder): the
    // signature, keyed with each one's password, picks the CPE; two that fit are refused.
    const fit = on.filter((c) => signatureMatches(this.host.view(c).get(`${this.host.ms}ConnectionRequestPassword`) ?? '', m));
    if (fit.length === 0) return this.ignored('bad-signature', rinfo);
    if (fit.length > 1) return this.ignored('ambiguous', rinfo);
    const l = fit[0]!;
    const key = `${l} ${m.id}`;
    if (this.seen.has(key)) return 'replay';
    this.remember(key, ts, nowS);
    if (!this.host.connectionRequest(l)) return 'rate-limited';
    return 'accepted';
  }

  private ignored(result: UdpCrResult, rinfo: dgram.RemoteInfo): UdpCrResult {
    this.host.log('debug', 'UDP connection request ignored', { result, from: `${rinfo.address}:${rinfo.port}` });
    return result;
  }

  private remember(key: string, ts: number, nowS: number): void {
    if (this.seen.size >= UDP_CR_REPLAY_CACHE) {
      // Out of the window: a replay of these is stale anyway.
      for (const [k, t] of this.seen) {
        if (this.seen.size < UDP_CR_REPLAY_CACHE && t >= nowS - UDP_CR_TS_WINDOW_S) break;
        this.seen.delete(k);
        if (t >= nowS - UDP_CR_TS_WINDOW_S && t > this.floorTs) this.floorTs = t;
      }
    }
    this.seen.set(key, ts);
  }

  private username(l: number): string {
    return this.host.view(l).get(`${this.host.ms}ConnectionRequestUsername`) ?? '';
  }
}

/**
 * CR username -> CPE, by open addressing over (hash, CPE) pairs: 8 bytes a slot, two slots
 * a CPE. Entries are only hints: a hit is confirmed against the CPE's username now, so a
 * username the ACS replaced simply stops matching.
 */
class UsernameIndex {
  private hashes: Uint32Array;
  private slots: Int32Array;
  private count = 0;

  constructor(
    private readonly size: number,
    private readonly usernameOf: (l: number) => string,
  ) {
    let cap = 16;
    while (cap < size * 2) cap *= 2;
    this.hashes = new Uint32Array(cap);
    this.slots = new Int32Array(cap);
    for (let l = 0; l < size; l++) this.add(l, usernameOf(l));
  }

  add(l: number, un: string): void {
    const h = fnv1a(un);
    const mask = this.slots.length - 1;
    let i = h & mask;
    while (this.slots[i]) {
      if (this.hashes[i] === h && this.slots[i] === l + 1) return;
      i = (i + 1) & mask;
    }
    this.hashes[i] = h;
    this.slots[i] = l + 1;
    if (++this.count * 2 > this.slots.length) {
      // Usernames an ACS replaced leave stale hints: past two per CPE, start over from the
      // usernames of now rather than grow without bound.
      if (this.count > this.size * 2) this.rebuild();
      else this.grow();
    }
  }

  private rebuild(): void {
    this.hashes.fill(0);
    this.slots.fill(0);
    this.count = 0;
    for (let l = 0; l < this.size; l++) this.add(l, this.usernameOf(l));
  }

  /** Every CPE whose CR username is `un` now. */
  findAll(un: string): number[] {
    const h = fnv1a(un);
    const mask = this.slots.length - 1;
    const out: number[] = [];
    for (let i = h & mask; this.slots[i]; i = (i + 1) & mask) {
      if (this.hashes[i] !== h) continue;
      const l = this.slots[i]! - 1;
      if (this.usernameOf(l) === un) out.push(l);
    }
    return out;
  }

  private grow(): void {
    const { hashes, slots } = this;
    this.hashes = new Uint32Array(slots.length * 2);
    this.slots = new Int32Array(slots.length * 2);
    const mask = this.slots.length - 1;
    for (let j = 0; j < slots.length; j++) {
      if (!slots[j]) continue;
      let i = hashes[j]! & mask;
      while (this.slots[i]) i = (i + 1) & mask;
      this.hashes[i] = hashes[j]!;
      this.slots[i] = slots[j]!;
    }
  }
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const urlHost = (h: string) => (h.includes(':') ? `[${h}]` : h);

let lastUrl: string | undefined;
let lastHost = '';
/** The host of an ACS URL, brackets off ('' when it is no URL); the last answer is kept, as a fleet mostly shares one URL. */
function acsHost(url: string): string {
  if (url === lastUrl) return lastHost;
  let host = '';
  try {
    host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    // no URL: no host
  }
  lastUrl = url;
  lastHost = host;
  return host;
}
