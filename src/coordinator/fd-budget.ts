// The file descriptors a fleet needs, counted at start against the soft limit
// (RLIMIT_NOFILE), so a fleet that cannot fit is refused with the numbers instead of
// leaving agents in backoff for ever (README "Descriptors").
import { uspEnabled } from '../config/load.js';
import type { Config } from '../config/options.js';
import { countOpenFds, FD_RESERVE, type FdLimit } from '../util/fds.js';
import { partition } from './coordinator.js';

/** Descriptors a thread of its own costs (its event loop's epoll and wake-up descriptors, with margin). */
export const FDS_PER_THREAD = 6;

export interface FdBudget {
  /** Each part of the need, in the order printed. */
  parts: Array<{ what: string; fds: number }>;
  need: number;
  limit: FdLimit;
  /** The need fits under the soft limit (or no limit could be read). */
  fits: boolean;
}

export function fdBudget(cfg: Config, limit: FdLimit, openNow: number | undefined = countOpenFds()): FdBudget {
  const parts: FdBudget['parts'] = [];
  const shards = partition({ fleetOffset: cfg.fleetOffset, cpes: cfg.cpes, shards: cfg.shards });
  const cwmp = cfg.acsUrl !== undefined || cfg.mockAcs !== undefined;
  parts.push({ what: 'the process now', fds: openNow ?? 32 });
  parts.push({ what: `${shards.length} shard threads`, fds: shards.length * FDS_PER_THREAD });
  // The CR and metrics listeners are uWS behind a protocol gate: two listening sockets each.
  const gated = 1 + (cfg.metricsBindAddr ? 1 : 0);
  const listeners = gated + (cfg.mockAcs ? 1 : 0) + (cfg.uspBroker?.mode === 'embedded' ? 1 : 0);
  parts.push({ what: `${listeners} listeners`, fds: listeners + gated });
  if (uspEnabled(cfg)) {
    parts.push({ what: `${cfg.cpes} USP agents' ${cfg.uspMtp === 'mqtt' ? 'MQTT' : cfg.uspMtp === 'stomp' ? 'STOMP' : 'WebSocket'} connections`, fds: cfg.cpes });
    if (cfg.uspWsListen) parts.push({ what: 'the shards\' WebSocket listeners (--usp-ws-listen)', fds: shards.length });
    if (cfg.uspBroker?.mode === 'embedded') parts.push({ what: 'the embedded broker\'s side of each', fds: cfg.cpes });
  }
  if (cfg.xmppServer) parts.push({ what: `${cfg.cpes} CPEs' XMPP connections`, fds: cfg.cpes });
  if (cwmp) {
    // A shard keeps at most --max-sessions connections to its ACS (in use or idle).
    const sessions = shards.reduce((n, s) => n + Math.min(cfg.maxSessions, s.hi - s.lo), 0);
    parts.push({ what: `${sessions} CWMP sessions at once (--max-sessions ${cfg.maxSessions} x ${shards.length} shards)`, fds: sessions });
    if (cfg.mockAcs && cfg.acsUrl === undefined) parts.push({ what: 'the embedded mock ACS\'s side of each', fds: sessions });
    parts.push({ what: 'the shards\' UDP connection-request sockets', fds: shards.length });
  }
  parts.push({ what: 'the reserve for /metrics, /admin, connection requests and transfers', fds: FD_RESERVE });
  const need = parts.reduce((n, p) => n + p.fds, 0);
  return { parts, need, limit, fits: limit.soft === undefined || need <= limit.soft };
}

/** What to tell the user when the fleet does not fit: the numbers and the three ways out. */
export function fdRefusal(cfg: Config, b: FdBudget): string {
  const soft = b.limit.soft!;
  const lines = [
    `cpe-sim: the fleet needs about ${b.need} file descriptors, but this process may open ${soft} (soft limit, ulimit -n${b.limit.hard !== undefined ? `; hard limit ${b.limit.hard === Infinity ? 'unlimited' : b.limit.hard}` : ''}):`,
    ...b.parts.map((p) => `  ${String(p.fds).padStart(8)}  ${p.what}`),
    'Either:',
    `  - raise the limit: ulimit -n ${b.need} before starting cpe-sim (LimitNOFILE=${b.need} in a systemd unit, --ulimit nofile=${b.need} for docker)${b.limit.hard !== undefined && b.need > b.limit.hard ? `; above the hard limit ${b.limit.hard} that takes root (or /etc/security/limits.conf)` : ''}`,
  ];
  if (cfg.uspBroker?.mode === 'embedded') lines.push(`  - use an external broker (--usp-broker mqtt://host:port): saves ${cfg.cpes} descriptors`);
  // Split evenly so each process fits: what one CPE costs, times its share, plus the fixed part.
  const perCpe = (uspEnabled(cfg) ? 1 : 0) + (cfg.uspBroker?.mode === 'embedded' ? 1 : 0) + (cfg.xmppServer ? 1 : 0);
  const fixed = b.need - perCpe * cfg.cpes;
  if (perCpe > 0 && soft > fixed) {
    const processes = Math.ceil((perCpe * cfg.cpes) / (soft - fixed));
    const per = Math.ceil(cfg.cpes / processes);
    if (processes > 1 && per >= 1) {
      const offsets = Array.from({ length: Math.min(processes, 3) }, (_, i) => cfg.fleetOffset + i * per).join(', ');
      const more = processes > 3 ? ', ...' : '';
      // --fleet-index n is --fleet-offset n x --cpes: the same split, when the fleet starts at 0.
      const byIndex = cfg.fleetOffset === 0 ? ` (or --fleet-index ${Array.from({ length: Math.min(processes, 3) }, (_, i) => i).join(', ')}${more})` : '';
      lines.push(`  - split the fleet over ${processes} processes of --cpes ${per} with --fleet-offset ${offsets}${more}${byIndex} (and their own ports)`);
    }
  } else {
    lines.push('  - split the fleet over several processes with --cpes and --fleet-index (or --fleet-offset), and their own ports');
  }
  lines.push(`  - or start anyway with --force-descriptors: what does not fit fails with reason "descriptors" (counted in /metrics and failReasons, logged at warn)`);
  return lines.join('\n');
}
