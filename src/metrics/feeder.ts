// Merges the shards' counters into the one registry. Each shard reports totals; main keeps
// the last total per shard and adds only increases, so a merged counter never goes
// backwards even when a shard's totals vanish or restart from zero.
import type { ShardStats } from '../coordinator/messages.js';
import { LIFECYCLE_STATES } from '../coordinator/messages.js';
import type { Catalog } from './catalog.js';

type Totals = Pick<ShardStats, 'bootstraps' | 'sessionsFailed' | 'periodicTicks'> & { faults: Record<string, number> };

export class MetricsFeeder {
  private readonly last = new Map<number, Totals>();

  constructor(private readonly c: Catalog) {}

  /** Apply one poll: per-shard stats (undefined for a shard that did not answer). */
  apply(perShard: Array<ShardStats | undefined>): void {
    const states = Object.fromEntries(LIFECYCLE_STATES.map((s) => [s, 0])) as Record<string, number>;
    perShard.forEach((st, shard) => {
      if (!st) return;
      for (const s of LIFECYCLE_STATES) states[s]! += st.states[s];
      const prev = this.last.get(shard) ?? { bootstraps: 0, sessionsFailed: 0, periodicTicks: 0, faults: {} };
      const inc = (now: number, before: number) => (now >= before ? now - before : now); // a restarted shard counts from 0
      this.c.fleetBootstraps.inc(inc(st.bootstraps, prev.bootstraps));
      this.c.fleetFailedSessions.inc(inc(st.sessionsFailed, prev.sessionsFailed));
      this.c.fleetPeriodicTicks.inc(inc(st.periodicTicks, prev.periodicTicks));
      for (const [code, n] of Object.entries(st.injectedFaults)) this.c.rpcFaults.inc({ protocol: 'cwmp', code }, inc(n, prev.faults[code] ?? 0));
      this.last.set(shard, { bootstraps: st.bootstraps, sessionsFailed: st.sessionsFailed, periodicTicks: st.periodicTicks, faults: { ...st.injectedFaults } });
    });
    for (const s of LIFECYCLE_STATES) this.c.fleetCpesByState.set({ lifecycle_state: s }, states[s]!);
  }
}
