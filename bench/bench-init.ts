// What every bench fleet's shards are started with, before each bench's own settings.
import type { ShardInit } from '../src/threads/messages.js';

export type FleetInit = Omit<ShardInit, 'shardId' | 'lo' | 'hi'>;

/** N CPEs of `profileDir` against `acsUrl`, all powered on at once, quiet logs, no metrics. */
export function benchInit(n: number, profileDir: string, acsUrl: string): FleetInit {
  return {
    fleetOffset: 0,
    fleetSize: n,
    seed: 1,
    profileDir,
    acs: { url: acsUrl, username: '', password: '', timeoutMs: 30_000, sessionTimeoutMs: 600_000, caFile: undefined },
    maxSessions: 64,
    cwmp: true,
    bootRamp: { mode: 'none' },
    startAt: Date.now(),
    // No listener behind it: the CR URLs are only written into the data model.
    cr: { baseUrl: 'http://127.0.0.1:9', secret: 'bench', rateLimit: { count: 10, periodSec: 60 } },
    logLevel: 'error',
    logFormat: 'json',
    measure: false,
    metrics: false,
  };
}
