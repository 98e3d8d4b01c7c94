// The CLI's progress clock (src/cli/progress.ts): seconds count from the run's start, and the
// first sessions/s covers the whole start-up, not one second.
import { describe, expect, it } from '@jest/globals';
import { SessionRate, StatsTicker } from '../src/cli/progress.js';
import type { ShardStats } from '../src/threads/messages.js';

const stats = (ok: number, failed = 0) => ({ states: { new: 0, bootstrapping: 0, ready: ok, failed }, sessionsOk: ok, sessionsFailed: failed, failReasons: {} }) as unknown as ShardStats;

describe('StatsTicker and SessionRate', () => {
  it('a ticker started 4 s into the run ticks at second 4 with dt 4, and 400 sessions ended in start-up read as 100/s', async () => {
    const t0 = 1_000_000;
    let now = t0 + 3_999; // the fleet took 4 s to come up
    const ticks: Array<{ second: number; dt: number; rate: number }> = [];
    const rate = new SessionRate();
    let answer = stats(400);
    let ticked: () => void = () => undefined;
    const ticker = new StatsTicker({
      t0,
      now: () => now,
      stats: async () => answer,
      fast: () => true,
      onTick: (s, second, dt) => {
        ticks.push({ second, dt, rate: rate.next(s, dt) });
        ticked();
      },
      onError: () => undefined,
    });
    const next = () => new Promise<void>((r) => (ticked = r));
    now = t0 + 4_000;
    let wait = next();
    ticker.start();
    await wait;
    now = t0 + 5_000;
    answer = stats(450);
    wait = next();
    await wait;
    ticker.stop();
    expect(ticks).toEqual([
      { second: 4, dt: 4, rate: 100 },
      { second: 5, dt: 1, rate: 50 },
    ]);
  });
});
