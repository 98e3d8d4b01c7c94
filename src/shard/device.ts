// A CPE's behaviours beyond its data model (reboots, transfers, scheduled
// informs): the RPCs' deferred effects, M events with CommandKeys, TransferComplete
// re-sent until acknowledged, firmware banks. State lives in the sparse ExtraStore.
import type { LinkFaultSpec } from '../scenario/model.js';
import type { Dispatcher } from 'undici';
import type { DeviceActions } from '../cwmp/rpc/handler.js';
import { EV, TIED_M_CODES } from '../cwmp/events.js';
import type { CpeRequest, CwmpFault, DuOpResult, EventStruct, QueuedTransfer, TransferFault } from '../cwmp/types.js';
import { isoSeconds, UNKNOWN_TIME } from '../datamodel/datetime.js';
import type { ProfileSpec } from '../profile/types.js';
import type { Clock } from '../scheduler/clock.js';
import type { CpeView } from '../datamodel/view.js';
import { runDuOperation } from './du-changes.js';
import { ExtraStore, type CpeExtra, type DuChange, type Firmware, type Transfer } from './extras.js';
import { transfer } from './transfers.js';

export const MAX_QUEUED_TRANSFERS = 16;

/** The M event a transfer reports with (TR-069 3.7.1.5). */
const mCodeOf = (t: Transfer): string => (t.windows ? 'M ScheduleDownload' : t.isDownload ? 'M Download' : 'M Upload');

/** The shard operations a device behaviour needs. */
export interface DeviceHost {
  clock: Clock;
  raise(l: number, mask: number): void;
  scheduleTransfer(at: number, l: number): void;
  scheduleInformAt(at: number, l: number): void;
  /** Something a device keeps across a power cycle changed (a transfer finished): store it (--state-dir). */
  changed(l: number): void;
  /** Power the CPE off now and on again after the profile's reboot window. */
  powerCycle(l: number, factoryReset: boolean): void;
  view(l: number): CpeView;
  keep(l: number, view: CpeView): void;
  /** Text of a vendor configuration or log file for an Upload. */
  uploadBody(l: number, fileType: string): string;
  /** A fleet event's link fault on the CPE's link now, if any (docs/cwmp-behaviour.md "Link faults"). */
  linkFault?(l: number): LinkFaultSpec | undefined;
  /** [0, 1) for the link fault's draws. */
  random?: () => number;
  log(level: 'warn' | 'debug', msg: string, extra: Record<string, unknown>): void;
}

export interface DeviceOptions {
  transferTimeoutMs: number;
  /** For https file servers signed by a private CA. */
  dispatcher?: Dispatcher | undefined;
  /** 'skip' completes transfers without moving bytes (cheap repeated campaigns). */
  transfers: 'fetch' | 'skip';
}

export class Device {
  readonly extras = new ExtraStore();

  constructor(
    private readonly host: DeviceHost,
    private readonly profile: ProfileSpec,
    private readonly opts: DeviceOptions,
  ) {}

  // ---- the data-model side: firmware banks ----

  firmware(l: number): Firmware | undefined {
    return this.extras.get(l)?.firmware;
  }

  private banks(l: number): Firmware {
    const e = this.extras.get(l);
    return e?.firmware ?? { active: 1, versions: [this.profile.identity.softwareVersion, this.profile.settings.previousSoftwareVersion ?? this.profile.identity.softwareVersion] };
  }

  /** USP FirmwareImage.{bank}.Download(): the image's version goes into that bank. */
  writeBank(l: number, bank: 1 | 2, version: string): void {
    const fw = this.banks(l);
    const versions: [string, string] = [...fw.versions];
    versions[bank - 1] = version;
    this.extras.ensure(l).firmware = { active: fw.active, versions };
  }

  /** USP FirmwareImage.{bank}.Activate(): boot from that bank from the next boot on. */
  activateBank(l: number, bank: 1 | 2): void {
    const fw = this.banks(l);
    const e = this.extras.ensure(l);
    if (fw.versions[bank - 1] !== fw.versions[fw.active - 1]) e.firmwareChanged = true;
    e.firmware = { active: bank, versions: [...fw.versions] };
  }

  /** The version an image at `url` installs (the profile's firmwareVersions map, else its name). */
  versionForUrl(url: string): string {
    return this.versionOf({ url, targetFileName: '' } as Transfer);
  }

  /** True once after a new image was installed (the boot that runs it). */
  takeFirmwareChange(l: number): boolean {
    const e = this.extras.get(l);
    if (!e?.firmwareChanged) return false;
    e.firmwareChanged = false;
    return true;
  }

  // ---- RPC effects ----

  actions(l: number): DeviceActions {
    return {
      reboot: (commandKey) => {
        const e = this.extras.ensure(l);
        e.deferred = e.deferred === 'factoryReset' ? 'factoryReset' : 'reboot';
        // TR-069 A.3.2.9: M Reboot carries the CommandKey into the boot Inform
        e.mEvents.push({ code: 'M Reboot', commandKey });
      },
      factoryReset: () => {
        this.extras.ensure(l).deferred = 'factoryReset';
      },
      scheduleInform: (delaySeconds, commandKey) => {
        const at = this.host.clock.now() + delaySeconds * 1000;
        this.extras.ensure(l).scheduledInforms.push({ at, commandKey });
        this.host.scheduleInformAt(at, l);
      },
      queueTransfer: (t): CwmpFault | undefined => {
        const e = this.extras.ensure(l);
        if (e.transfers.length >= MAX_QUEUED_TRANSFERS) {
          this.extras.prune(l);
          return { code: 9004, message: `Resources exceeded: ${MAX_QUEUED_TRANSFERS} transfers already queued` };
        }
        const { windows, ...rest } = t;
        // Window times count from receipt (TR-069 A.4.1.8).
        const now = this.host.clock.now();
        e.transfers.push({ ...rest, state: 1, startAt: 0, ...(windows ? { windows: windows.map((w) => ({ start: now + w.start * 1000, end: now + w.end * 1000, mode: w.mode })) } : {}) });
        return undefined;
      },
      queuedTransfers: (): QueuedTransfer[] =>
        (this.extras.get(l)?.transfers ?? []).map((t) => ({ commandKey: t.commandKey, state: t.state, isDownload: t.isDownload, fileType: t.fileType, fileSize: t.fileSize, targetFileName: t.targetFileName })),
      changeDuState: (commandKey, operations) => {
        this.extras.ensure(l).duChanges.push({ commandKey, operations, state: 1 });
      },
      cancelTransfer: (commandKey): CwmpFault | undefined => {
        const e = this.extras.get(l);
        const i = e?.transfers.findIndex((t) => t.commandKey === commandKey && t.state === 1) ?? -1;
        if (!e || i < 0) return { code: 9021, message: `Cancellation not permitted: no transfer "${commandKey}" waiting to start` };
        e.transfers.splice(i, 1);
        this.extras.prune(l);
        return undefined;
      },
    };
  }

  /** A reboot ordered outside a session (a fleet event's wave): M Reboot with an empty CommandKey, dark now. */
  rebootNow(l: number): void {
    this.extras.ensure(l).mEvents.push({ code: 'M Reboot', commandKey: '' });
    this.host.powerCycle(l, false);
  }

  /** The power went during a session: what it deferred (a reboot, a reset) is moot. */
  powerLost(l: number): void {
    const e = this.extras.get(l);
    if (!e) return;
    e.deferred = undefined;
    this.extras.prune(l);
  }

  /** After a session: deferred reboot/reset, and transfers asked for in it start their delay now. */
  sessionEnded(l: number): void {
    const e = this.extras.get(l);
    if (!e) return;
    const now = this.host.clock.now();
    for (const t of e.transfers) {
      if (t.state !== 1 || t.startAt !== 0) continue;
      if (t.windows) {
        // Wake at each window's start, and at the last window's end to give up with 9020.
        t.startAt = t.windows[0]!.start;
        for (const w of t.windows) this.host.scheduleTransfer(Math.max(now, w.start), l);
        this.host.scheduleTransfer(t.windows[t.windows.length - 1]!.end, l);
      } else {
        t.startAt = now + t.delaySeconds * 1000;
        this.host.scheduleTransfer(t.startAt, l);
      }
    }
    // TR-069 A.4.1.10: DU changes run once the session is over.
    if (e.duChanges.some((c) => c.state === 1)) this.host.scheduleTransfer(now, l);
    const d = e.deferred;
    e.deferred = undefined;
    if (d) this.host.powerCycle(l, d === 'factoryReset');
    else this.extras.prune(l);
  }

  /**
   * Put back what the state dir kept: a transfer cut by the restart starts again, and the
   * timers of waiting transfers, DU changes and scheduled informs are set anew.
   */
  restore(l: number, kept: Omit<CpeExtra, 'deferred'>): void {
    const e: CpeExtra = { ...kept, deferred: undefined };
    this.extras.set(l, e);
    for (const t of e.transfers) {
      if (t.state === 2) t.state = 1;
      if (t.state !== 1 || t.startAt === 0) continue;
      if (t.windows) {
        for (const w of t.windows) this.host.scheduleTransfer(w.start, l);
        this.host.scheduleTransfer(t.windows[t.windows.length - 1]!.end, l);
      } else this.host.scheduleTransfer(t.startAt, l);
    }
    for (const c of e.duChanges) if (c.state === 2) c.state = 1;
    for (const si of e.scheduledInforms) this.host.scheduleInformAt(si.at, l);
    // Transfers accepted in a session the restart cut short start their delay now, and
    // waiting DU changes run, as after a session's end.
    this.sessionEnded(l);
  }

  /** Factory reset: everything but the installed firmware goes. */
  reset(l: number): void {
    const fw = this.extras.get(l)?.firmware;
    this.extras.delete(l);
    if (fw) this.extras.ensure(l).firmware = fw;
  }

  // ---- timers ----

  fireScheduledInforms(l: number): void {
    const e = this.extras.get(l);
    if (!e) return;
    const now = this.host.clock.now();
    const due = e.scheduledInforms.filter((s) => s.at <= now);
    if (due.length === 0) return;
    e.scheduledInforms = e.scheduledInforms.filter((s) => s.at > now);
    for (const s of due) e.mEvents.push({ code: 'M ScheduleInform', commandKey: s.commandKey });
    this.host.raise(l, EV.SCHEDULED);
  }

  startDueTransfers(l: number, poweredOn: boolean): void {
    const e = this.extras.get(l);
    if (!e) return;
    const now = this.host.clock.now();
    if (poweredOn) for (const c of e.duChanges) if (c.state === 1) void this.runDuChange(l, c);
    for (const t of e.transfers) {
      if (t.state !== 1 || t.startAt === 0) continue;
      if (t.windows) {
        const last = t.windows[t.windows.length - 1]!;
        // "4 Confirmation Needed": nobody here can confirm, so that window never opens.
        const open = t.windows.find((w) => w.start <= now && now < w.end && !w.mode.startsWith('4 '));
        if (open && poweredOn) void this.run(l, t);
        else if (now >= last.end) this.finish(l, t, { code: 9020, message: 'Transfer not completed within the time windows' }, now);
        continue;
      }
      if (poweredOn && t.startAt <= now) void this.run(l, t);
    }
  }

  /** Record a transfer's outcome as a pending TransferComplete with its M event. */
  private finish(l: number, t: Transfer, fault: TransferFault, start: number): void {
    const e = this.extras.get(l);
    if (!e) return;
    t.state = 3;
    t.complete = { method: 'TransferComplete', commandKey: t.commandKey, fault, startTime: fault.code === 9020 ? UNKNOWN_TIME : isoSeconds(start), completeTime: isoSeconds(this.host.clock.now()) };
    e.mEvents.push({ code: mCodeOf(t), commandKey: t.commandKey });
    this.host.raise(l, EV.TRANSFER_COMPLETE);
    this.host.changed(l);
  }

  private async run(l: number, t: Transfer): Promise<void> {
    t.state = 2;
    const start = this.host.clock.now();
    let fault: TransferFault = { code: 0, message: '' };
    if (this.opts.transfers === 'fetch') {
      const out = await transfer({
        method: t.isDownload ? 'GET' : 'PUT',
        url: t.url,
        username: t.username,
        password: t.password,
        timeoutMs: this.opts.transferTimeoutMs,
        fileSize: t.fileSize,
        maxBytes: this.profile.settings.maxDownloadBytes,
        body: t.isDownload ? undefined : this.host.uploadBody(l, t.fileType),
        dispatcher: this.opts.dispatcher,
        link: this.host.linkFault?.(l),
        random: this.host.random,
      });
      if (!out.ok) fault = out.fault;
    }
    const e = this.extras.get(l);
    if (!e || !e.transfers.includes(t)) return; // factory reset meanwhile
    if (fault.code !== 0) this.host.log('debug', 'transfer failed', { cpe: l, url: t.url, fault: fault.code, why: fault.message });
    if (t.isDownload && fault.code === 0 && t.fileType.startsWith('1 ')) {
      // A firmware image: write it to the other bank, boot from it (TR-069 A.3.2.8).
      const fw = e.firmware ?? { active: 1, versions: [this.profile.identity.softwareVersion, this.profile.settings.previousSoftwareVersion ?? this.profile.identity.softwareVersion] };
      const next: 1 | 2 = fw.active === 1 ? 2 : 1;
      const versions: [string, string] = [...fw.versions];
      versions[next - 1] = this.versionOf(t);
      e.firmware = { active: next, versions };
      e.firmwareChanged = true;
      // Dark first, so the TransferComplete waits for the boot session.
      this.host.powerCycle(l, false);
    }
    this.finish(l, t, fault, start);
  }

  private async runDuChange(l: number, c: DuChange): Promise<void> {
    c.state = 2;
    const results: DuOpResult[] = [];
    for (const op of c.operations) {
      results.push(
        await runDuOperation(
          {
            view: () => this.host.view(l),
            keep: (v) => this.host.keep(l, v),
            now: () => this.host.clock.now(),
            timeoutMs: this.opts.transferTimeoutMs,
            maxBytes: this.profile.settings.maxDownloadBytes,
            fetch: this.opts.transfers === 'fetch',
            dispatcher: this.opts.dispatcher,
          },
          op,
        ),
      );
    }
    const e = this.extras.get(l);
    if (!e || !e.duChanges.includes(c)) return; // factory reset meanwhile
    c.state = 3;
    c.complete = { method: 'DUStateChangeComplete', commandKey: c.commandKey, results };
    e.mEvents.push({ code: 'M ChangeDUState', commandKey: c.commandKey });
    this.host.raise(l, EV.DU_STATE_CHANGE_COMPLETE);
    this.host.changed(l);
  }

  /** The version an image installs: the profile's map, else a version number in its name. */
  private versionOf(t: Transfer): string {
    const name = t.targetFileName || decodeURIComponent(new URL(t.url).pathname.split('/').pop() ?? '');
    for (const m of this.profile.settings.firmwareVersions) {
      if (new RegExp(m.match).test(t.url) || new RegExp(m.match).test(name)) return m.version;
    }
    return /\d+(?:\.\d+)+/.exec(name)?.[0] ?? (name.replace(/\.[^.]*$/, '') || 'unknown');
  }

  // ---- the session side ----

  mEvents(l: number): EventStruct[] {
    return this.extras.get(l)?.mEvents ?? [];
  }

  /** The InformResponse arrived: M events are delivered, except those tied to a CPE request. */
  informDelivered(l: number, sent: readonly EventStruct[]): void {
    const e = this.extras.get(l);
    if (!e) return;
    e.mEvents = e.mEvents.filter((m) => !sent.includes(m) || TIED_M_CODES.has(m.code));
    this.extras.prune(l);
  }

  /** TransferComplete / DUStateChangeComplete for everything finished, until each is acknowledged. */
  requests(l: number): CpeRequest[] {
    const out: CpeRequest[] = [];
    const e = this.extras.get(l);
    for (const t of e?.transfers ?? []) if (t.complete) out.push(t.complete);
    for (const c of e?.duChanges ?? []) if (c.complete) out.push(c.complete);
    return out;
  }

  /** A DUStateChangeCompleteResponse clears the change and its M event; true when none is left. */
  duRequestDone(l: number, req: CpeRequest, result: 'ok' | 'fault'): boolean {
    if (req.method !== 'DUStateChangeComplete' || result !== 'ok') return false;
    const e = this.extras.get(l);
    const c = e?.duChanges.find((x) => x.complete === req);
    if (!e || !c) return false;
    e.duChanges = e.duChanges.filter((x) => x !== c);
    const i = e.mEvents.findIndex((m) => m.code === 'M ChangeDUState' && m.commandKey === c.commandKey);
    if (i >= 0) e.mEvents.splice(i, 1);
    const more = e.duChanges.some((x) => x.complete);
    this.extras.prune(l);
    return !more;
  }

  /** A TransferCompleteResponse clears the transfer, its M event and, when it was the last, 7 TRANSFER COMPLETE. */
  requestDone(l: number, req: CpeRequest, result: 'ok' | 'fault'): boolean {
    if (req.method !== 'TransferComplete' || result !== 'ok') return false;
    const e = this.extras.get(l);
    if (!e) return false;
    const t = e.transfers.find((x) => x.complete === req);
    if (!t) return false;
    e.transfers = e.transfers.filter((x) => x !== t);
    const code = mCodeOf(t);
    const i = e.mEvents.findIndex((m) => m.code === code && m.commandKey === t.commandKey);
    if (i >= 0) e.mEvents.splice(i, 1);
    const more = e.transfers.some((x) => x.complete);
    this.extras.prune(l);
    return !more;
  }
}
