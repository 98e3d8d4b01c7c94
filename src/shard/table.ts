// What a protocol side (CWMP, USP) sees of the shard's table of CPEs: the CPEs' trees,
// power, lifecycle and the one scheduler. Sides hold their own per-CPE state; everything
// they share goes through here, so neither side reaches into the other or the table.
import type { Template } from '../datamodel/schema.js';
import type { CpeView } from '../datamodel/view.js';
import type { ProfileSpec } from '../profile/types.js';
import type { LinkFaultSpec } from '../scenario/model.js';
import type { Random } from '../scheduler/backoff.js';
import type { Clock } from '../scheduler/clock.js';
import type { TimeBase } from '../scheduler/times.js';
import type { BootCause } from '../usp/commands.js';
import type { Device } from './device.js';
import type { Diagnostics } from './diagnostics.js';
import type { FleetEnv } from './fleet-env.js';
import type { TimerKind } from './timer-kind.js';

/** A CPE's lifecycle as stored (one byte), indexed like LIFECYCLE_STATES. */
export const enum Life {
  New = 0,
  Bootstrapping = 1,
  Ready = 2,
  Failed = 3,
}

export type LogFn = (level: 'info' | 'warn' | 'debug', msg: string, extra?: Record<string, unknown>) => void;

/** Why a CPE restarts, as a USP Boot! event reports it. */
export interface BootReason {
  cause: BootCause;
  commandKey: string;
}

export interface CpeTable {
  /** This shard's number (0-based). */
  readonly shardId: number;
  /** Global index of local CPE 0. */
  readonly lo: number;
  readonly size: number;
  readonly clock: Clock;
  /** [0, 1) for retry windows and jitter. */
  readonly random: Random;
  readonly env: FleetEnv;
  readonly template: Template;
  readonly profile: ProfileSpec;
  /** Reboots, transfers, firmware banks: what the device does whichever protocol asked. */
  readonly device: Device;
  /** TR-143 tests, whichever protocol asked (docs/diagnostics.md). */
  readonly diagnostics: Diagnostics;
  /** The CPE's tree now: template, identity, moving values and its overlay. */
  view(l: number): CpeView;
  /** Keep the overlay a write produced (a view creates one lazily on the first write). */
  keep(l: number, view: CpeView): void;
  /** A state dir is on (--state-dir): writes are stored before they are acknowledged. */
  readonly persisting: boolean;
  /** Store CPE `l`'s record as it is now; resolves once it is on disk (false when the write failed). */
  durable(l: number): Promise<boolean>;
  /** Powered and not in a reboot's dark window. */
  isPoweredOn(l: number): boolean;
  setLife(l: number, to: Life): void;
  /** Fire `kind` for CPE l at epoch ms `at` (at wholeMs(at): compare a stored time with wholeMs). */
  schedule(at: number, l: number, kind: TimerKind): void;
  /** The epoch the scheduler keeps due times against: per-CPE DueTimes follow it. */
  readonly timeBase: TimeBase;
  /** The link fault a fleet event put on CPE `l`'s links now, if any (applied at the transport). */
  linkFault(l: number): LinkFaultSpec | undefined;
  /**
   * About to open a socket (an agent's MQTT connection, a connection to the ACS): undefined
   * to go ahead (booked against the process's descriptor reserve), or why not: the process
   * is within the reserve of its descriptor limit (README "Descriptors").
   */
  fdRefusal(kind: 'mqtt' | 'acs' | 'xmpp'): string | undefined;
  /** A socket fdRefusal let open is closed again. */
  fdReleased(kind: 'mqtt' | 'acs' | 'xmpp'): void;
  /** Go dark and boot again after the profile's reboot window; a factory reset wipes the overlay. */
  powerCycle(l: number, factoryReset: boolean, why?: BootReason): void;
  log: LogFn;
}
