import { afterEach, describe, expect, it } from '@jest/globals';
import type { LinkFaultSpec } from '../src/scenario/model.js';
import { bootstrapped, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const clean: LinkFaultSpec = { latencyMs: 0, jitterMs: 0, resetProbability: 0, stallProbability: 0, down: false };
const fault = (f: Partial<LinkFaultSpec>, durationSeconds = 600) => ({ kind: 'linkFault' as const, target: {}, durationSeconds, fault: { ...clean, ...f } });

describe('link faults on CWMP sessions (docs/cwmp-behaviour.md "Link faults")', () => {
  it('latency is added before each POST and shows in the ACS response time', async () => {
    h = await startHarness();
    h.shard.applyEvent(fault({ latencyMs: 250, jitterMs: 50 }), h.clock.now());
    await bootstrapped(h);
    const { Inform: inform, GetRPCMethods: rpc, Empty: empty } = h.shard.sample().acsResponseMs;
    expect(inform!.count).toBe(1);
    for (const x of [inform!, rpc!, empty!]) expect(x.min).toBeGreaterThanOrEqual(250);
    // The bootstrap's GetRPCMethods and the empty POST waited too (the sample above drained the Inform's).
    await until(() => h!.shard.lifecycle(0) === 'ready');
  });

  it('a reset cuts the connection mid-session: the ACS sees its open session lose the socket, the CPE counts "reset"', async () => {
    let applied = false;
    h = await startHarness({
      acs: {
        // Once the Inform is in, the link starts resetting: the next POST of the same session is cut.
        script: () => {
          if (!applied) h!.shard.applyEvent(fault({ resetProbability: 1 }), h!.clock.now());
          applied = true;
          return undefined;
        },
      },
    });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'the session to fail');
    await h.acs.waitFor(() => h!.acs.sessionsCut === 1, 10_000, 'the ACS to see the connection cut');
    const s = h.acs.sessions[0]!;
    expect(s.cut).toBe(true);
    expect(s.ended).toBe(false);
    // The GetRPCMethods after the InformResponse reached the ACS before the cut.
    expect(s.messages.map((m) => m.message.method)).toEqual(['GetRPCMethods']);
    expect(h.shard.admin.stats().failReasons).toEqual({ reset: 1 });
    expect(h.shard.admin.stats().failStatuses).toEqual({});
  });

  it('a stall gets no answer: the session fails as "stall" once --acs-timeout has run out', async () => {
    h = await startHarness({ acsTimeoutMs: 1000 });
    h.shard.applyEvent(fault({ stallProbability: 1 }), h.clock.now());
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'the stalled session to fail');
    expect(h.shard.admin.stats().failReasons).toEqual({ stall: 1 });
    // The CPE waited the timeout for an answer that never came: the session lasted that
    // long, and no answered exchange was timed.
    const sample = h.shard.sample();
    expect(sample.sessionMs.min).toBeGreaterThanOrEqual(990);
    expect(sample.acsResponseMs['Inform']).toBeUndefined();
    expect(h.acs.informCount).toBe(0);
  });

  it('a down link fails at once as "link-down" and no connection reaches the ACS; the fault ends with its duration', async () => {
    h = await startHarness({ random: () => 0 });
    h.shard.applyEvent(fault({ down: true }, 30), h.clock.now());
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'the session to fail');
    expect(h.shard.admin.stats().failReasons).toEqual({ 'link-down': 1 });
    // The first retry (5 s with random 0) is still inside the fault.
    h.tick(h.cwmp.retryDueAt(0) - h.clock.now());
    await settle(h);
    expect(h.shard.admin.stats().failReasons).toEqual({ 'link-down': 2 });
    expect(h.acs.connections).toBe(0);
    expect(h.shard.linkFault(0)).toBeDefined();
    // 30 s on, the fault is over (a retry that fell inside it failed as well): the next retry reaches the ACS.
    h.tick(30_000);
    await settle(h);
    expect(h.shard.linkFault(0)).toBeUndefined();
    expect(h.acs.connections).toBe(0);
    const failedSoFar = h.shard.admin.stats().failReasons['link-down']!;
    h.tick(h.cwmp.retryDueAt(0) - h.clock.now());
    await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'the retry after the fault');
    expect(h.acs.connections).toBeGreaterThan(0);
    expect(h.acs.sessions[0]!.inform.retryCount).toBe(failedSoFar);
  });

  it('only the targeted CPEs are affected', async () => {
    h = await startHarness({ cpes: 2 });
    h.shard.applyEvent({ ...fault({ down: true }), target: { from: 1, to: 2 } }, h.clock.now());
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'ready' && h!.shard.lifecycle(1) === 'failed', 10_000, 'CPE 0 ready, CPE 1 failed');
    expect(h.shard.admin.stats().failReasons).toEqual({ 'link-down': 1 });
  });
});
