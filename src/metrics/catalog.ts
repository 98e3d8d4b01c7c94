// Every metric family of cpe-sim, declared once (STYLE 9). docs/metrics.md lists them and
// a test keeps the two in step. No family has a per-CPE label.
import { Counter, Gauge, Registry } from 'prom-client';
import { LIFECYCLE_STATES } from '../coordinator/messages.js';

export function createCatalog() {
  const registry = new Registry();
  const fleetCpesByState = new Gauge({
    name: 'cpe_sim_fleet_cpes_by_state',
    help: 'CPEs in each lifecycle state (new, bootstrapping, ready, failed), polled from the shards every 5 s.',
    labelNames: ['lifecycle_state'] as const,
    registers: [registry],
    aggregator: 'sum',
  });
  const fleetBootstraps = new Counter({ name: 'cpe_sim_fleet_bootstraps_total', help: 'Informs carrying 0 BOOTSTRAP that the ACS accepted.', registers: [registry] });
  const fleetFailedSessions = new Counter({ name: 'cpe_sim_fleet_failed_sessions_total', help: 'CWMP sessions that failed (connect, timeout, auth, HTTP status, protocol).', registers: [registry] });
  const fleetPeriodicTicks = new Counter({ name: 'cpe_sim_fleet_periodic_ticks_total', help: 'Periodic inform timers that fired.', registers: [registry] });
  const rpcFaults = new Counter({
    name: 'cpe_sim_rpc_faults_total',
    help: 'Faults the CPEs answered with that the fault hook injected, by protocol and code.',
    labelNames: ['protocol', 'code'] as const,
    registers: [registry],
  });
  const adminRequests = new Counter({
    name: 'cpe_sim_admin_requests_total',
    help: 'Requests to the metrics and admin listener, by route and HTTP status.',
    labelNames: ['route', 'code'] as const,
    registers: [registry],
  });
  for (const s of LIFECYCLE_STATES) fleetCpesByState.set({ lifecycle_state: s }, 0);
  return { registry, fleetCpesByState, fleetBootstraps, fleetFailedSessions, fleetPeriodicTicks, rpcFaults, adminRequests };
}

export type Catalog = ReturnType<typeof createCatalog>;

/** Routes of the admin listener, known up front so each appears at 0 from the first scrape. */
export const ADMIN_ROUTES = ['/metrics', '/admin/cpes', '/admin/cpes/{id}', '/admin/cpes/{id}/cr', '/admin/cpes/{id}/fault/{code}', 'unknown'] as const;
