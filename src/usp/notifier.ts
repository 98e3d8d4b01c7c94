// An agent's autonomous Notifies (docs/usp-behaviour.md): every one goes out behind a matching
// enabled subscription (counted as gated) or is counted and dropped; send_resp ones
// (NotifRetry, OnBoardRequest) are resent in the TR-369 retry windows until a
// NotifyResp, their NotifExpiration, or the per-agent bound. Only agents with an
// unanswered Notify hold anything here.
import { retryDelayMs, type Random } from '../scheduler/backoff.js';
import type { CpeView } from '../datamodel/view.js';
import type { Clock } from '../scheduler/clock.js';
import { publishUspDrop, publishUspNotify, type UspNotifyEvent } from './diagnostics.js';
import { notifyRecord, type Ends } from './records.js';
import type { Subscription, SubscriptionWatch } from './subscriptions.js';
import type { DeepPartial, Notify, OperationComplete, StrMap } from './types.js';

/** Unanswered send_resp Notifies an agent keeps retrying; the oldest go first (counted). */
export const MAX_PENDING_NOTIFIES = 64;

interface PendingNotify {
  msgId: string;
  /** The Record's bytes, one per character (latin1). */
  record: string;
  attempt: number;
  /** Epoch ms after which it is given up (Infinity: never). */
  deadline: number;
  dueAt: number;
  /** The OnBoardRequest: its NotifyResp completes onboarding. */
  onboard?: true;
}

export interface NotifierHost {
  clock: Clock;
  random: Random;
  view(l: number): CpeView;
  ends(l: number): Ends;
  /** Global index of agent l (unique msg_ids across the fleet). */
  index(l: number): number;
  /** PUBLISH to the controller topic, when connected. */
  publish(l: number, bytes: Uint8Array): void;
  connected(l: number): boolean;
  /** Call retry(l) at this time. */
  wakeAt(at: number, l: number): void;
  subs: SubscriptionWatch;
  controllerRef: string;
}

export class UspNotifier {
  private readonly pending = new Map<number, PendingNotify[]>();
  private msgSeq = 0;

  constructor(private readonly host: NotifierHost) {}

  /** An event: to Event subscribers whose ReferenceList covers it, else counted as not gated. */
  event(l: number, objPath: string, name: string, params: StrMap): void {
    const subs = this.host.subs.matching(l, 'Event', objPath + name, this.host.controllerRef, this.host.view(l));
    if (subs.length === 0) publishUspNotify({ kind: 'Event', gated: false });
    for (const s of subs) this.toSubscriber(l, s, 'Event', { event: { obj_path: objPath, event_name: name, params } });
  }

  operationComplete(l: number, oc: DeepPartial<OperationComplete>): void {
    const subs = this.host.subs.matching(l, 'OperationComplete', `${oc.obj_path ?? ''}${oc.command_name ?? ''}`, this.host.controllerRef, this.host.view(l));
    if (subs.length === 0) publishUspNotify({ kind: 'OperationComplete', gated: false });
    for (const s of subs) this.toSubscriber(l, s, 'OperationComplete', { oper_complete: oc });
  }

  /** Every subscription-driven Notify goes through here (Subscription NotifRetry, NotifExpiration). */
  toSubscriber(l: number, sub: Subscription, kind: UspNotifyEvent['kind'], n: DeepPartial<Notify>): void {
    publishUspNotify({ kind, gated: true });
    const expiry = sub.notifExpiration > 0 ? this.host.clock.now() + sub.notifExpiration * 1000 : Infinity;
    this.send(l, { subscription_id: sub.id, send_resp: sub.notifRetry, ...n } as DeepPartial<Notify>, sub.notifRetry ? expiry : undefined);
  }

  /** OnBoardRequest (R-NOT.6/6a): not subscribable, send_resp, retried until a NotifyResp, never expires. */
  onBoardRequest(l: number, id: { oui: string; productClass: string; serial: string }): void {
    publishUspNotify({ kind: 'OnBoardRequest', gated: true });
    this.send(l, { subscription_id: '', send_resp: true, on_board_req: { oui: id.oui, product_class: id.productClass, serial_number: id.serial, agent_supported_protocol_versions: '1.0,1.1,1.2,1.3' } }, Infinity, true);
  }

  onBoardPending(l: number): boolean {
    return this.pending.get(l)?.some((p) => p.onboard) === true;
  }

  private send(l: number, n: DeepPartial<Notify>, retryUntil: number | undefined, onboard = false): void {
    const msgId = `notify-${this.host.index(l).toString(36)}-${(++this.msgSeq).toString(36)}`;
    const bytes = notifyRecord(this.host.ends(l), msgId, n);
    this.host.publish(l, bytes);
    if (retryUntil === undefined) return;
    const dueAt = this.host.clock.now() + this.retryDelay(this.host.view(l), 1);
    // Kept for resending as a one-byte string: not a view that holds a whole 8 KB pool slab
    // (10,000 agents each holding an unanswered OnBoardRequest: ~1.7 KB per agent), nor a
    // typed array with its buffer object and backing store (~200 bytes more than the string).
    const entry: PendingNotify = { msgId, record: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), attempt: 1, deadline: retryUntil, dueAt, ...(onboard ? { onboard: true as const } : {}) };
    const list = this.pending.get(l);
    if (list === undefined) {
      // A one-entry array (an agent's OnBoardRequest waits here until the controller answers):
      // push() onto [] would reserve 17 slots.
      this.pending.set(l, [entry]);
      this.host.wakeAt(dueAt, l);
      return;
    }
    if (list.length >= MAX_PENDING_NOTIFIES) {
      // A controller that never answers must not grow the agent without bound.
      const oldest = list.findIndex((p) => !p.onboard);
      if (oldest >= 0) {
        list.splice(oldest, 1);
        publishUspDrop({ reason: 'notify-backlog' });
      }
    }
    list.push(entry);
    this.host.wakeAt(dueAt, l);
  }

  /** TR-369 R-NOT.1 retry windows from Controller.USPNotifRetryMinimumWaitInterval / IntervalMultiplier. */
  private retryDelay(v: CpeView, n: number): number {
    const c = this.host.controllerRef;
    const minWait = Number(v.get(`${c}.USPNotifRetryMinimumWaitInterval`));
    const multiplier = Number(v.get(`${c}.USPNotifRetryIntervalMultiplier`));
    return retryDelayMs(n, { minWait, multiplier }, this.host.random);
  }

  /** The retry timer: resend what is due, drop what expired. */
  retry(l: number): void {
    const list = this.pending.get(l);
    if (!list) return;
    const now = this.host.clock.now();
    const v = this.host.view(l);
    // In place: a new array filled by push() would reserve 17 slots for the usual one entry.
    let kept = 0;
    for (const p of list) {
      if (p.deadline <= now) continue;
      if (p.dueAt <= now) {
        if (this.host.connected(l)) this.host.publish(l, Buffer.from(p.record, 'latin1'));
        p.attempt++;
        p.dueAt = now + this.retryDelay(v, p.attempt);
        this.host.wakeAt(p.dueAt, l);
      }
      list[kept++] = p;
    }
    list.length = kept;
    if (kept === 0) this.pending.delete(l);
  }

  /** After a reconnect: what still waits for its NotifyResp goes out again. */
  resend(l: number): void {
    for (const p of this.pending.get(l) ?? []) this.host.publish(l, Buffer.from(p.record, 'latin1'));
  }

  /** A NotifyResp (or an Error) for msgId; true when it answered the OnBoardRequest. */
  answered(l: number, msgId: string): boolean {
    const list = this.pending.get(l);
    if (!list) return false;
    const onboard = list.some((p) => p.msgId === msgId && p.onboard);
    const rest = list.filter((p) => p.msgId !== msgId);
    if (rest.length > 0) this.pending.set(l, rest);
    else this.pending.delete(l);
    return onboard;
  }

  /** Power off: retry counts reset on reboot (TR-369 R-NOT.4). */
  forget(l: number): void {
    this.pending.delete(l);
  }

  pendingCount(l: number): number {
    return this.pending.get(l)?.length ?? 0;
  }
}

/** Boot!'s ParameterMap: the enabled Controller.BootParameter values, as a JSON object (TR-181). */
export function bootParameterMap(v: CpeView, controllerRef: string): string {
  const map: StrMap = {};
  const bp = v.resolve(`${controllerRef}.BootParameter.`);
  if (bp?.kind === 'table') {
    for (const n of v.rows(bp.node, bp.path, bp.inst)) {
      if (v.get(`${bp.path}${n}.Enable`) !== 'true') continue;
      const name = v.get(`${bp.path}${n}.ParameterName`) ?? '';
      const val = v.get(name);
      if (val !== undefined) map[name] = val;
    }
  }
  return JSON.stringify(map);
}
