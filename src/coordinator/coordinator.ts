// The coordinator: partitions [fleetOffset, fleetOffset + cpes) into contiguous shards,
// runs one long-lived Piscina task per shard, and talks to each over its own MessagePort.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Piscina } from 'piscina';
import { CpeSimError, fromWire } from '../util/errors.js';
import type { ThreadProbe } from '../util/probe.js';
import type { FleetEvent } from '../scenario/model.js';
import { RESTART_REASONS, type RestartReason } from '../threads/messages.js';
import type { CpeDetail, CpeSummary, CrReply, CrRequest, LifecycleState, MainToShard, MetricsSnapshot, ReplyOf, ShardInit, ShardSample, ShardStats, ShardToMain } from '../threads/messages.js';

export { RESTART_REASONS, type RestartReason };

export interface FleetPlan {
  fleetOffset: number;
  cpes: number;
  shards: number;
}

/** Contiguous ranges: a CPE's shard is floor((cpe - offset) / perShard). */
export function partition(plan: FleetPlan): Array<{ lo: number; hi: number }> {
  const shards = Math.min(plan.shards, plan.cpes);
  const per = Math.ceil(plan.cpes / shards);
  const out: Array<{ lo: number; hi: number }> = [];
  for (let s = 0; s * per < plan.cpes; s++) {
    out.push({ lo: plan.fleetOffset + s * per, hi: plan.fleetOffset + Math.min(plan.cpes, (s + 1) * per) });
  }
  return out;
}

export function shardOf(plan: FleetPlan, cpe: number): number | undefined {
  if (cpe < plan.fleetOffset || cpe >= plan.fleetOffset + plan.cpes) return undefined;
  const per = Math.ceil(plan.cpes / Math.min(plan.shards, plan.cpes));
  return Math.floor((cpe - plan.fleetOffset) / per);
}

interface ShardLink {
  port: MessagePort;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>;
  done: Promise<unknown>;
  /** Why the shard is gone; requests to a dead shard fail at once. */
  dead: string | undefined;
}


/** A dead shard is started again after a pause that doubles with each death in a row. */
export interface RestartBackoff {
  /** Pause after a first death. */
  initialMs: number;
  /** The pause never grows past this. */
  maxMs: number;
  /** A run that stayed up this long before dying starts the doubling over. */
  stableMs: number;
}
export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { initialMs: 1000, maxMs: 30_000, stableMs: 60_000 };

/** The pause before restart number `streak` (1 = first death after a stable run). */
export function restartDelay(b: RestartBackoff, streak: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(30, Math.max(0, streak - 1)));
}

/** The memory the process may use: the cgroup's limit when there is one, else the machine's. */
function memoryBudget(): number {
  const total = totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * Old-generation heap cap of each shard thread in MiB (--shard-heap-mb, or computed): three
 * quarters of the memory budget split over the shards, at least 256 MiB. A shard that
 * reaches it is terminated alone (ERR_WORKER_OUT_OF_MEMORY) and restarted.
 */
export function shardHeapMb(shards: number, override?: number): number {
  if (override !== undefined && override > 0) return override;
  return Math.max(256, Math.floor((memoryBudget() * 0.75) / Math.max(1, shards) / 2 ** 20));
}

/**
 * Semi-space size of each shard thread in MiB, following its CPE count: V8's default lets
 * every thread's young generation grow to 3 x 16 MiB, which a 100-CPE shard never needs
 * (it was 32 MiB resident per thread, a third of the fixed base). 1 MiB per 1,024 CPEs,
 * a power of two from 1 to V8's own 16 MiB (reached past 8,192 CPEs per shard, so every
 * fleet whose session rate matters keeps V8's default).
 */
export function shardSemiSpaceMb(cpesPerShard: number): number {
  const want = Math.max(1, Math.ceil(cpesPerShard / 1024));
  return Math.min(16, 2 ** Math.ceil(Math.log2(want)));
}

export interface CoordinatorOptions {
  /** Each shard thread's old-generation heap cap in MiB (default: shardHeapMb(shards)). */
  shardHeapMb?: number | undefined;
  restartBackoff?: RestartBackoff;
  /** Tests only: the shards accept test hooks (ShardInit.testHooks). */
  testHooks?: boolean;
}

/** The restart reason of a shard run that ended: its task's error, or none when it ended without one. */
export function restartReasonOf(error: unknown): RestartReason {
  if (error === undefined) return 'exit';
  const code = (error as { code?: unknown }).code;
  return code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out-of-memory' : 'error';
}

/** A shard that does not answer within this long is treated as stuck for that request. */
const REQUEST_TIMEOUT_MS = 15_000;

const workerFile = (): URL => {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`../../workers/shard.${ext}`, import.meta.url);
};

export class Coordinator {
  private pool: Piscina | undefined;
  private links: ShardLink[] = [];
  private seq = 0;
  private stopping = false;
  private restarts = 0;
  /** Shards whose next run is on its way. */
  private readonly restarting = new Set<number>();
  /** Per shard: deaths in a row (each within stableMs of its start) and when its current run started. */
  private readonly streak: number[] = [];
  private readonly upSince: number[] = [];
  private readonly backoff: RestartBackoff;
  /** The heap cap each shard thread runs under, in MiB. */
  readonly heapMb: number;
  readonly plan: FleetPlan;
  paramCount = 0;
  /** Per-shard heap baselines, when started with `measure`. */
  readonly baselines: ThreadProbe[] = [];

  constructor(
    private readonly base: Omit<ShardInit, 'shardId' | 'lo' | 'hi'>,
    shards: number,
    /**
     * Told when a shard thread dies after it started (or a restart of it fails to start):
     * what happened, and the restart that follows (its bounded reason and its delay).
     */
    private readonly onShardDeath: (shardId: number, detail: string, restart: { reason: RestartReason; delayMs: number }) => void = () => undefined,
    /** Each shard's metrics pushes, with the shard's generation (restarts). */
    private readonly onMetrics: (shardId: number, snapshot: MetricsSnapshot, gen: number) => void = () => undefined,
    /** A generation of a shard is gone: its counters stay, its gauges go. */
    private readonly onMetricsRetired: (shardId: number, gen: number) => void = () => undefined,
    private readonly options: CoordinatorOptions = {},
  ) {
    this.plan = { fleetOffset: base.fleetOffset, cpes: base.fleetSize, shards: Math.min(shards, base.fleetSize) };
    this.backoff = options.restartBackoff ?? DEFAULT_RESTART_BACKOFF;
    this.heapMb = shardHeapMb(this.plan.shards, options.shardHeapMb);
  }

  get shardCount(): number {
    return this.links.length;
  }

  /** Start every shard; resolves once all have built their CPEs, rejects on the first failure. */
  async start(): Promise<void> {
    const ranges = partition(this.plan);
    const semiMb = shardSemiSpaceMb(Math.max(...ranges.map((r) => r.hi - r.lo)));
    // Each shard thread's heap starts with its young generation at full size (read when a
    // thread's heap is set up): under the CLI no heap grows its young generation
    // (src/cli/v8-sizing.ts), so a large shard must not start at V8's initial 1 MiB.
    setFlagsFromString(`--min-semi-space-size=${semiMb}`);
    this.pool = new Piscina({
      filename: workerFile().href,
      minThreads: ranges.length,
      maxThreads: ranges.length,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // With Piscina's default atomics an idle worker sleeps in Atomics.wait, and its port
      // messages stall until it wakes.
      atomics: 'disabled',
      // A shard that runs out of heap is terminated alone (ERR_WORKER_OUT_OF_MEMORY) and
      // restarted below, instead of V8 aborting the whole process.
      // The young generation follows the shard's size (V8's young generation is three
      // semi-spaces: two for the scavenger, one for new large objects).
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 3 * semiMb },
    });
    await Promise.all(ranges.map(({ lo, hi }, shardId) => this.startShard(shardId, lo, hi, 0)));
  }

  /**
   * Run one shard's task (generation `gen` of it). A shard that dies after starting is
   * restarted with the same range: its CPEs boot again (from the state dir, with
   * --state-dir), and its metrics continue under a
   * new generation so the merged counters never go backwards.
   */
  private startShard(shardId: number, lo: number, hi: number, gen: number): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    const link: ShardLink = { port: port1, pending: new Map(), done: Promise.resolve(), dead: undefined };
    this.links[shardId] = link;
    let up = false;
    const die = (detail: string, reason: RestartReason) => {
      if (link.dead) return;
      link.dead = detail;
      const fail = () => {
        for (const p of link.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new CpeSimError('SHARD_FAILED', `shard ${shardId}: ${detail}`));
        }
        link.pending.clear();
      };
      // A task's result can arrive before its last port messages (separate channels): when a
      // shard stops normally, give its final replies a moment before giving up on them.
      if (this.stopping) setTimeout(fail, 1000).unref();
      else fail();
      // A run that had started, or a restart that failed to start, is started again.
      if ((up || gen > 0) && !this.stopping) {
        const now = Date.now();
        if (up && now - (this.upSince[shardId] ?? now) >= this.backoff.stableMs) this.streak[shardId] = 0;
        const streak = (this.streak[shardId] = (this.streak[shardId] ?? 0) + 1);
        const delayMs = restartDelay(this.backoff, streak);
        this.onShardDeath(shardId, detail, { reason, delayMs });
        this.onMetricsRetired(shardId, gen);
        this.restarts++;
        this.restarting.add(shardId);
        setTimeout(() => {
          if (this.stopping) {
            this.restarting.delete(shardId);
            return;
          }
          this.startShard(shardId, lo, hi, gen + 1)
            // A failed restart is itself a death of the shard: die() above schedules the next.
            .catch(() => undefined)
            .finally(() => this.restarting.delete(shardId));
        }, delayMs).unref();
      }
    };
    return new Promise<void>((resolve, reject) => {
      port1.on('message', (m: ShardToMain) => {
        switch (m.type) {
          case 'started':
            this.paramCount = m.paramCount;
            if (m.baseline) this.baselines[m.shardId] = m.baseline;
            up = true;
            this.upSince[shardId] = Date.now();
            resolve();
            return;
          case 'metrics':
            this.onMetrics(m.shardId, m.snapshot, gen);
            // A push that overtook this run's death: keep its counters, not its gauges.
            if (link.dead && !this.stopping) this.onMetricsRetired(m.shardId, gen);
            return;
          case 'fatal':
            die(`failed to start: ${m.error.message}`, 'error');
            reject(fromWire(m.error));
            return;
          case 'reply': {
            const p = link.pending.get(m.id);
            if (!p) return;
            link.pending.delete(m.id);
            clearTimeout(p.timer);
            if (m.ok) p.resolve(m.value);
            else p.reject(fromWire(m.error));
            return;
          }
          default: {
            const never: never = m;
            throw new Error(`unknown shard message ${JSON.stringify(never)}`);
          }
        }
      });
      // The port closes when the thread goes; the task's outcome (which says why) follows
      // soon after, so give it a moment before settling for "its port closed".
      let settled = false;
      port1.on('close', () => {
        setTimeout(() => {
          if (!settled) die('its port closed', 'exit');
        }, 1000).unref();
      });
      // A restarted shard's CPEs boot again along the boot ramp, also under a scenario (whose
      // events so far it has not seen): better a slice that boots than one left off for good.
      const init: ShardInit = {
        ...this.base,
        shardId,
        lo,
        hi,
        startAt: gen === 0 ? this.base.startAt : Date.now(),
        ...(gen > 0 ? { holdPower: false } : {}),
        ...(this.options.testHooks ? { testHooks: true } : {}),
      };
      link.done = this.pool!.run({ init, port: port2 }, { transferList: [port2] }).then(
        () => {
          settled = true;
          // A shard that failed to start says why on its port, which can arrive after this.
          setTimeout(() => reject(new CpeSimError('SHARD_FAILED', `shard ${shardId} stopped before it started`)), 1000).unref();
          die('stopped', 'exit');
        },
        (e: Error) => {
          settled = true;
          const reason = restartReasonOf(e);
          die(reason === 'out-of-memory' ? `ran out of memory (heap cap ${this.heapMb} MiB): ${e.message}` : `died: ${e.message}`, reason);
          reject(new CpeSimError('SHARD_FAILED', `shard ${shardId} died: ${e.message}`));
        },
      );
    });
  }

  /** Shard restarts so far (for tests and logs). */
  get generation(): number {
    return this.restarts;
  }

  /** Tests only (CoordinatorOptions.testHooks): make one shard thread run out of heap. */
  exhaustMemory(shard: number): Promise<never> {
    return this.request(shard, 'test-exhaust-memory', {});
  }

  /** Threads whose shard is up (for the worker-threads gauge). */
  get liveShards(): number {
    return this.links.filter((l) => !l.dead).length;
  }

  private async request<T extends MainToShard['type']>(shard: number, type: T, body: Omit<Extract<MainToShard, { type: T }>, 'id' | 'type'>): Promise<ReplyOf[T]> {
    // A shard being restarted answers once its next run is up, within the request timeout.
    for (let waited = 0; this.restarting.has(shard) && this.links[shard]?.dead && !this.stopping && waited < REQUEST_TIMEOUT_MS; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const link = this.links[shard];
    if (!link) throw new CpeSimError('NOT_FOUND', `no shard ${shard}`);
    if (link.dead) throw new CpeSimError('SHARD_FAILED', `shard ${shard}: ${link.dead}`);
    const id = ++this.seq;
    return new Promise<ReplyOf[T]>((resolve, reject) => {
      const timer = setTimeout(() => {
        link.pending.delete(id);
        reject(new CpeSimError('TIMEOUT', `shard ${shard} did not answer ${type} within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      link.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      link.port.postMessage({ ...body, type, id });
    });
  }

  async connectionRequest(cpe: number, request: CrRequest): Promise<CrReply> {
    const s = shardOf(this.plan, cpe);
    if (s === undefined) return { status: 404, headers: {} };
    return this.request(s, 'cr', { cpe, request });
  }

  async inspect(cpe: number): Promise<CpeSummary | null> {
    const s = shardOf(this.plan, cpe);
    if (s === undefined) return null;
    return this.request(s, 'inspect', { cpe });
  }

  async detail(cpe: number): Promise<CpeDetail | null> {
    const s = shardOf(this.plan, cpe);
    if (s === undefined) return null;
    return this.request(s, 'detail', { cpe });
  }

  /** CPEs in index order across shards, a page at a time (never the whole fleet in one message). */
  async list(state: LifecycleState | undefined, offset: number, limit: number): Promise<CpeSummary[]> {
    const out: CpeSummary[] = [];
    let skip = offset;
    for (let s = 0; s < this.links.length && out.length < limit; s++) {
      const page = await this.request(s, 'list', { state, offset: skip, limit: limit - out.length });
      skip -= page.skipped;
      out.push(...page.items);
    }
    return out;
  }

  async triggerConnectionRequest(cpe: number): Promise<{ crUrl: string; accepted: boolean; reason?: string }> {
    const s = shardOf(this.plan, cpe);
    if (s === undefined) throw new CpeSimError('NOT_FOUND', `no CPE ${cpe} in this fleet`);
    return this.request(s, 'trigger-cr', { cpe });
  }

  /** Queue a CWMP fault for the CPE's next ACS request (the admin API's fault hook). */
  async injectFault(cpe: number, code: number): Promise<{ queued: number }> {
    const s = shardOf(this.plan, cpe);
    if (s === undefined) throw new CpeSimError('NOT_FOUND', `no CPE ${cpe} in this fleet`);
    return this.request(s, 'fault', { cpe, code });
  }

  /** The fleet's global CPE indices [lo, hi). */
  get range(): { lo: number; hi: number } {
    return { lo: this.plan.fleetOffset, hi: this.plan.fleetOffset + this.plan.cpes };
  }

  /** CPE `cpe`'s PeriodicInformInterval in seconds, read from its tree (undefined when it cannot be read). */
  async intervalOf(cpe: number): Promise<number | undefined> {
    const d = await this.detail(cpe);
    const v = Number(d?.leaves.find((l) => l.name.endsWith('.ManagementServer.PeriodicInformInterval'))?.value);
    return Number.isFinite(v) && v >= 1 ? v : undefined;
  }

  /** A fleet event on every shard, starting at epoch ms `at`; how many CPEs it reached. */
  async applyEvent(event: FleetEvent, at: number): Promise<number> {
    const counts = await Promise.all(this.links.map((_, s) => this.request(s, 'event', { event, at })));
    return counts.reduce((n, c) => n + c.affected, 0);
  }

  /** Every shard's sample (counters so far, latencies since its last sample), by shard; undefined for one that does not answer. */
  async samples(): Promise<Array<ShardSample | undefined>> {
    return Promise.all(this.links.map((_, s) => this.request(s, 'sample', {}).catch(() => undefined)));
  }

  /** Each shard's stats, undefined for a shard that does not answer (for the metrics merge). */
  async statsPerShard(): Promise<Array<ShardStats | undefined>> {
    return Promise.all(this.links.map((_, s) => this.request(s, 'stats', {}).catch(() => undefined)));
  }

  /** Summed over the shards that answer; a dead shard's CPEs are left out until restarts exist. */
  async stats(): Promise<ShardStats> {
    return sumStats((await this.statsPerShard()).filter((x): x is ShardStats => x !== undefined));
  }

  /** The scripts each shard thread has loaded (src/util/loaded-modules.ts), by shard. */
  async modules(): Promise<string[][]> {
    return Promise.all(this.links.map((_, s) => this.request(s, 'modules', {})));
  }

  /** Heap (after GC) and handles of every shard thread. */
  async probe(): Promise<ThreadProbe[]> {
    return Promise.all(this.links.map((_, s) => this.request(s, 'probe', {})));
  }

  async stop(): Promise<ShardStats> {
    this.stopping = true;
    const all = await Promise.all(this.links.map((_, s) => this.request(s, 'stop', {}).catch(() => undefined)));
    await Promise.all(this.links.map((l) => l.done.catch(() => undefined)));
    for (const l of this.links) l.port.close();
    await this.pool?.destroy();
    this.pool = undefined;
    return sumStats(all.filter((x): x is ShardStats => x !== undefined));
  }
}

export function sumStats(list: ShardStats[]): ShardStats {
  const out: ShardStats = {
    states: { new: 0, bootstrapping: 0, ready: 0, failed: 0 },
    bootstraps: 0,
    sessionsOk: 0,
    sessionsFailed: 0,
    periodicTicks: 0,
    faultsInjected: 0,
    injectedFaults: {},
    failReasons: {},
    failStatuses: {},
    retryAfterHonored: 0,
    activeSessions: 0,
    queuedSessions: 0,
  };
  for (const s of list) {
    for (const k of Object.keys(out.states) as Array<keyof ShardStats['states']>) out.states[k] += s.states[k];
    out.bootstraps += s.bootstraps;
    out.sessionsOk += s.sessionsOk;
    out.sessionsFailed += s.sessionsFailed;
    out.periodicTicks += s.periodicTicks;
    out.faultsInjected += s.faultsInjected;
    for (const [k, v] of Object.entries(s.injectedFaults)) out.injectedFaults[k] = (out.injectedFaults[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.failReasons)) out.failReasons[k] = (out.failReasons[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.failStatuses ?? {})) out.failStatuses![k] = (out.failStatuses![k] ?? 0) + v;
    out.retryAfterHonored! += s.retryAfterHonored ?? 0;
    out.activeSessions += s.activeSessions;
    out.queuedSessions += s.queuedSessions;
    if (s.xmppConnections) {
      out.xmppConnections ??= {};
      for (const [k, v] of Object.entries(s.xmppConnections)) out.xmppConnections[k] = (out.xmppConnections[k] ?? 0) + v;
    }
    if (s.uspConnections) {
      out.uspConnections ??= {};
      for (const [k, v] of Object.entries(s.uspConnections)) out.uspConnections[k] = (out.uspConnections[k] ?? 0) + v;
    }
  }
  return out;
}
