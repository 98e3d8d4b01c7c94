// The process's file descriptors without native code: the soft limit (RLIMIT_NOFILE) and
// the open count, and a gate over a SharedArrayBuffer that every thread consults before it
// opens a socket, so the last descriptors stay free for the listeners (README "Descriptors").
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

export interface FdLimit {
  /** The soft limit; Infinity when unlimited, undefined when it cannot be read. */
  soft: number | undefined;
  hard: number | undefined;
  /** Where it was read: /proc/self/limits (Linux), or `ulimit -n` in a child shell, which inherits the limit. */
  source: 'proc' | 'ulimit' | 'unknown';
}

const parseLimit = (s: string | undefined): number | undefined => (s === undefined ? undefined : s === 'unlimited' ? Infinity : Number.isFinite(Number(s)) ? Number(s) : undefined);

/** Read RLIMIT_NOFILE: /proc/self/limits on Linux, else `sh -c 'ulimit -n; ulimit -Hn'`. */
export function readFdLimit(): FdLimit {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line?.match(/^Max open files\s+(\S+)\s+(\S+)/);
    if (m) return { soft: parseLimit(m[1]), hard: parseLimit(m[2]), source: 'proc' };
  } catch {
    // not Linux: ask a shell below
  }
  try {
    const [soft, hard] = execFileSync('/bin/sh', ['-c', 'ulimit -n; ulimit -Hn'], { encoding: 'utf8', timeout: 5000 }).trim().split('\n');
    const s = parseLimit(soft?.trim());
    if (s !== undefined) return { soft: s, hard: parseLimit(hard?.trim()), source: 'ulimit' };
  } catch {
    // no shell either
  }
  return { soft: undefined, hard: undefined, source: 'unknown' };
}

/** Open descriptors of the process (all threads share one table), or undefined when /proc/self/fd cannot be read. */
export function countOpenFds(): number | undefined {
  try {
    // readdir holds one descriptor of its own while it reads: not counted.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** Descriptors kept free at all times for the listeners (/metrics, /admin, connection requests), transfers and the fd count itself. */
export const FD_RESERVE = 200;

const OPEN = 0;
const OPENED_SINCE = 1;
const CEILING = 2;
const DENIED = 3;
const NO_CEILING = 0x7fffffff;

/**
 * The descriptor budget every thread shares: the open count of the last sample plus what
 * the threads opened since, less what they closed since, against
 * a ceiling of the soft limit minus the reserve. A socket the gate refuses is not opened:
 * the caller counts a `descriptors` failure and retries later, as after EMFILE.
 */
export class FdGate {
  private readonly a: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.a = new Int32Array(buffer);
  }

  static create(limit: number | undefined, reserve = FD_RESERVE): FdGate {
    const g = new FdGate(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT));
    const ceiling = limit === undefined || !Number.isFinite(limit) ? NO_CEILING : Math.max(0, limit - reserve);
    Atomics.store(g.a, CEILING, Math.min(NO_CEILING, ceiling));
    return g;
  }

  get ceiling(): number {
    return Atomics.load(this.a, CEILING);
  }

  /** The estimate: last sample plus what was opened since. */
  get estimate(): number {
    return Atomics.load(this.a, OPEN) + Atomics.load(this.a, OPENED_SINCE);
  }

  /** Sockets the gate refused so far, all threads. */
  get denied(): number {
    return Atomics.load(this.a, DENIED);
  }

  /** May the caller open `n` descriptors now? Yes books them until the next sample. */
  tryOpen(n: number): boolean {
    if (this.ceiling === NO_CEILING) return true;
    if (this.estimate + n > this.ceiling) {
      Atomics.add(this.a, DENIED, 1);
      return false;
    }
    Atomics.add(this.a, OPENED_SINCE, n);
    return true;
  }

  /** `n` descriptors booked with tryOpen are closed again. */
  release(n: number): void {
    if (this.ceiling !== NO_CEILING) Atomics.sub(this.a, OPENED_SINCE, n);
  }

  /**
   * A new sample: `read` counts the open descriptors (undefined when it cannot: under EMFILE
   * the process is at its limit, and the gate closes until a read succeeds).
   */
  sample(read: () => number | undefined): void {
    const before = Atomics.load(this.a, OPENED_SINCE);
    const n = read();
    Atomics.store(this.a, OPEN, n ?? this.ceiling);
    // Opens and closes booked while reading stay booked (counted twice at worst, never missed).
    Atomics.sub(this.a, OPENED_SINCE, before);
  }

  /** No count to go by (no /proc): the gate lets everything through. */
  open(): void {
    Atomics.store(this.a, CEILING, NO_CEILING);
    Atomics.store(this.a, OPEN, 0);
  }
}

/**
 * Main thread: samples the open count for the gate once a second and for /metrics on each
 * scrape. The count needs a descriptor of its own; a spare one is held and given up for the
 * read when the process is at its limit, so the gauge keeps telling the truth. A read that
 * still fails keeps the last good value and counts a read failure.
 */
export class FdMonitor {
  private spare: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  last: number | undefined;
  readFailures = 0;

  constructor(
    readonly gate: FdGate,
    readonly limit: FdLimit,
    private readonly onReadFailure: (err: string) => void = () => undefined,
    /** Hold a spare descriptor to give up for the count at the limit (tests turn it off). */
    holdSpare = true,
  ) {
    this.spare = holdSpare ? openSpare() : undefined;
    this.holdSpare = holdSpare;
  }

  private readonly holdSpare: boolean;

  start(periodMs = 1000): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
    this.timer.unref();
  }

  /** Count now; the last good count when it fails. */
  sample(): number | undefined {
    if (this.unsupported) return undefined;
    this.gate.sample(() => this.read());
    if (this.unsupported) this.gate.open();
    return this.last;
  }

  /** No /proc/self/fd (not Linux): no gauge, and the gate cannot know, so it stays open. */
  unsupported = false;

  private read(): number | undefined {
    let err: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const n = readdirSync('/proc/self/fd').length - 1;
        // The spare is one of ours, not the fleet's.
        this.last = n - (this.spare === undefined ? 0 : 1);
        if (this.holdSpare) this.spare ??= openSpare();
        return this.last;
      } catch (e) {
        err = e;
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'EMFILE' && code !== 'ENFILE') || this.spare === undefined) break;
        closeSync(this.spare);
        this.spare = undefined;
      }
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && this.last === undefined) {
      this.unsupported = true;
      this.gate.open();
      return undefined;
    }
    this.readFailures++;
    this.onReadFailure(`${code ?? 'error'}: ${(err as Error).message}`);
    return undefined;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.spare !== undefined) closeSync(this.spare);
    this.spare = undefined;
  }
}

function openSpare(): number | undefined {
  try {
    return openSync('/dev/null', 'r');
  } catch {
    return undefined;
  }
}

/** Is this error the process (or the system) out of descriptors? */
export const isFdExhaustion = (code: unknown): boolean => code === 'EMFILE' || code === 'ENFILE' || code === FD_RESERVE_CODE;
/** The error code of a socket the gate refused to open. */
export const FD_RESERVE_CODE = 'ECPESIMFDRESERVE';
