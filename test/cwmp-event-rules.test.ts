// The event delivery rules of docs/cwmp-behaviour.md, one test per rule, over
// the real mock ACS: single vs multiple (M) codes, what a failed session retries, what
// survives a reboot, codes tied to a CPE request, and 0 BOOTSTRAP until acknowledged.
import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import type { AcsOutgoingRequest, Inform } from '../src/cwmp/types.js';
import type { MockAcsOptions } from '../src/mock-acs/mock-acs.js';
import { startFileServer, type FileServer } from './helpers/file-server.js';
import { bootstrapped, events, rebootMs, retryScheduled, startHarness, until, type Harness, type HarnessOptions } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
let files: FileServer | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await files?.close();
  files = undefined;
});

const has = (i: Inform, code: string) => i.events.some((e) => e.code === code);
const sorted = (xs: string[]) => [...xs].sort();

/** Power on, let the bootstrap session finish, wait until the CPE is ready. */
async function booted(acs: MockAcsOptions, extra: HarnessOptions = {}): Promise<Harness> {
  const harness = await startHarness({ ...extra, acs });
  await bootstrapped(harness);
  return harness;
}

/** Wait for the n-th recorded session (0-based) to end. */
async function sessionEnded(h: Harness, n: number, what: string) {
  await h.acs.waitFor(() => h.acs.sessions[n]?.ended === true, 10_000, what);
  return h.acs.sessions[n]!;
}

describe('event delivery rules (TR-069 3.7.1.5, docs/cwmp-behaviour.md)', () => {
  it('single codes are single: 2 PERIODIC raised twice before a session goes out once', async () => {
    let slow = false;
    let fail = false;
    h = await booted({ informDelayMs: () => (slow ? 300 : 0), failInform: () => (fail ? 503 : undefined) });
    // Twice while another session waits for its InformResponse: deferred, then sent once.
    slow = true;
    h.cwmp.raise(0, EV.CONNECTION_REQUEST);
    await h.acs.waitFor(() => h!.acs.informCount === 2, 5000, 'connection request inform');
    h.cwmp.raise(0, EV.PERIODIC);
    h.cwmp.raise(0, EV.PERIODIC);
    slow = false;
    expect(events((await sessionEnded(h, 1, 'CR session')).inform)).toEqual(['6 CONNECTION REQUEST']);
    expect(events((await sessionEnded(h, 2, 'deferred session')).inform)).toEqual(['2 PERIODIC']);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    // Twice more while a failed 2 PERIODIC waits for its retry: still one.
    fail = true;
    h.cwmp.raise(0, EV.PERIODIC);
    const wait = await retryScheduled(h, 4);
    h.cwmp.raise(0, EV.PERIODIC);
    h.cwmp.raise(0, EV.PERIODIC);
    fail = false;
    h.tick(wait);
    expect(events((await sessionEnded(h, 3, 'retry')).inform)).toEqual(['2 PERIODIC']);
    await settle(h);
    expect(h.acs.informCount).toBe(5);
  });

  it('M codes are multiple, one per CommandKey: two ScheduleInforms give one 3 SCHEDULED and two M ScheduleInform', async () => {
    h = await booted({
      script: (i) =>
        has(i, '0 BOOTSTRAP')
          ? [
              { method: 'ScheduleInform', delaySeconds: 60, commandKey: 'si-a' },
              { method: 'Raw', name: 'ScheduleInform', bodyXml: '<DelaySeconds>60</DelaySeconds><CommandKey>si-b</CommandKey>' },
            ]
          : undefined,
    });
    h.tick(60_000);
    const s = await sessionEnded(h, 1, 'scheduled session');
    expect(events(s.inform)).toEqual(['3 SCHEDULED', 'M ScheduleInform:si-a', 'M ScheduleInform:si-b']);
    // Delivered: neither comes back.
    await until(() => h!.shard.lifecycle(0) === 'ready');
    h.cwmp.raise(0, EV.PERIODIC);
    expect(events((await sessionEnded(h, 2, 'next session')).inform)).toEqual(['2 PERIODIC']);
  });

  it('a failed session re-sends 0 BOOTSTRAP, 1 BOOT, 2 PERIODIC, 3 SCHEDULED + M ScheduleInform and 4 VALUE CHANGE, and drops 6 CONNECTION REQUEST', async () => {
    const informs: Inform[] = [];
    let fail = true;
    h = await startHarness({
      acs: {
        failInform: (i) => (informs.push(i), fail ? 503 : undefined),
        script: (i) => (has(i, '0 BOOTSTRAP') ? [{ method: 'ScheduleInform', delaySeconds: 1, commandKey: 'si' }] : undefined),
      },
    });
    // The boot Inform fails (503): 0 BOOTSTRAP and 1 BOOT go again in the retry.
    h.tick();
    let wait = await retryScheduled(h, 1);
    fail = false;
    h.tick(wait);
    const boot = await sessionEnded(h, 0, 'bootstrap retry');
    expect(events(informs[0]!)).toEqual(['0 BOOTSTRAP', '1 BOOT']);
    expect(events(boot.inform)).toEqual(['0 BOOTSTRAP', '1 BOOT']);
    expect(boot.inform.retryCount).toBe(1);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    // A 2 PERIODIC session fails; while its retry waits the ScheduleInform expires (rides
    // along), then a connection request starts a session at once with everything queued.
    fail = true;
    h.cwmp.raise(0, EV.PERIODIC);
    await retryScheduled(h, 3);
    h.tick(1000);
    h.cwmp.raise(0, EV.VALUE_CHANGE | EV.CONNECTION_REQUEST);
    wait = await retryScheduled(h, 4);
    expect(events(informs[2]!)).toEqual(['2 PERIODIC']);
    expect(sorted(events(informs[3]!))).toEqual(sorted(['2 PERIODIC', '3 SCHEDULED', '4 VALUE CHANGE', '6 CONNECTION REQUEST', 'M ScheduleInform:si']));
    // The retry carries all of it but 6 CONNECTION REQUEST.
    fail = false;
    h.tick(wait);
    const retry = await sessionEnded(h, 1, 'retry');
    expect(sorted(events(retry.inform))).toEqual(sorted(['2 PERIODIC', '3 SCHEDULED', '4 VALUE CHANGE', 'M ScheduleInform:si']));
    expect(retry.inform.retryCount).toBe(2);
  });

  it('across a reboot keeps 2 PERIODIC, 3 SCHEDULED and the M events, replaces 1 BOOT, and drops 4 VALUE CHANGE and 6 CONNECTION REQUEST', async () => {
    let slow = false;
    h = await booted({
      informDelayMs: () => (slow ? 400 : 0),
      script: (i) =>
        has(i, '0 BOOTSTRAP')
          ? [{ method: 'ScheduleInform', delaySeconds: 10, commandKey: 'si' }]
          : has(i, '6 CONNECTION REQUEST')
            ? [{ method: 'Reboot', commandKey: 'rb' }]
            : undefined,
    });
    // A session that will carry the Reboot RPC; the ACS holds its InformResponse back...
    slow = true;
    h.cwmp.raise(0, EV.CONNECTION_REQUEST);
    await h.acs.waitFor(() => h!.acs.informCount === 2, 5000, 'reboot session inform');
    // ...meanwhile the ScheduleInform expires and more events come up, none of them sent yet.
    h.tick(10_000);
    h.cwmp.raise(0, EV.BOOT | EV.PERIODIC | EV.VALUE_CHANGE | EV.CONNECTION_REQUEST);
    const rs = await sessionEnded(h, 1, 'reboot session');
    expect(events(rs.inform)).toEqual(['6 CONNECTION REQUEST']);
    expect(rs.messages.map((m) => m.message.method)).toContain('RebootResponse');
    await until(() => !h!.shard.isPoweredOn(0), 5000, 'dark');
    slow = false;
    h.tick(rebootMs(h));
    const s = await sessionEnded(h, 2, 'boot session');
    expect(sorted(events(s.inform))).toEqual(sorted(['1 BOOT', '2 PERIODIC', '3 SCHEDULED', 'M ScheduleInform:si', 'M Reboot:rb']));
    expect(s.inform.events.filter((e) => e.code === '1 BOOT')).toHaveLength(1);
    await settle(h);
    expect(h.acs.informCount).toBe(3);
  });

  it('7 TRANSFER COMPLETE + M Download stay until the TransferCompleteResponse', async () => {
    files = await startFileServer({ 'web.tar': 2048 });
    let refuse = true;
    const dl: AcsOutgoingRequest = { method: 'Download', commandKey: 'dl-1', fileType: '3 Vendor Configuration File', url: `${files.url}/files/web.tar`, username: '', password: '', fileSize: 2048, targetFileName: '', delaySeconds: 0, successUrl: '', failureUrl: '' };
    h = await booted({ refuseTransferComplete: () => refuse, script: (i) => (has(i, '0 BOOTSTRAP') ? [dl] : undefined) }, { acsTimeoutMs: 1000 });
    const next = async (n: number, what: string) => {
      const s = await sessionEnded(h!, n, what);
      await until(() => h!.shard.lifecycle(0) === 'ready');
      return s;
    };
    const sentTc = (s: { messages: Array<{ message: { method: string } }> }) => s.messages.filter((m) => m.message.method === 'TransferComplete').length;
    h.tick(); // the transfer runs; its session reports it, and the ACS refuses with 8005
    const first = await next(1, 'transfer complete session');
    expect(events(first.inform)).toEqual(['7 TRANSFER COMPLETE', 'M Download:dl-1']);
    expect(sentTc(first)).toBe(1);
    // Refused: both codes and the TransferComplete are in the next session too.
    h.cwmp.raise(0, EV.PERIODIC);
    const second = await next(2, 'second session');
    expect(events(second.inform)).toEqual(['2 PERIODIC', '7 TRANSFER COMPLETE', 'M Download:dl-1']);
    expect(sentTc(second)).toBe(1);
    // Acknowledged this time...
    refuse = false;
    h.cwmp.raise(0, EV.PERIODIC);
    const third = await next(3, 'third session');
    expect(events(third.inform)).toEqual(['2 PERIODIC', '7 TRANSFER COMPLETE', 'M Download:dl-1']);
    expect(sentTc(third)).toBe(1);
    // ...so gone afterwards.
    h.cwmp.raise(0, EV.PERIODIC);
    const fourth = await next(4, 'fourth session');
    expect(events(fourth.inform)).toEqual(['2 PERIODIC']);
    expect(sentTc(fourth)).toBe(0);
    expect(h.acs.transferCompletes.map((t) => t.commandKey)).toEqual(['dl-1', 'dl-1', 'dl-1']);
  });

  it('0 BOOTSTRAP is sent until an InformResponse acknowledges it, then never again on later boots', async () => {
    const informs: Inform[] = [];
    let reboots = 0;
    h = await startHarness({
      acs: {
        failInform: (i) => (informs.push(i), informs.length <= 2 ? 503 : undefined),
        script: () => (reboots < 2 ? [{ method: 'Reboot', commandKey: `rb-${++reboots}` }] : undefined),
      },
    });
    h.tick();
    for (let n = 1; n <= 2; n++) h.tick(await retryScheduled(h, n));
    const acked = await sessionEnded(h, 0, 'bootstrap acknowledged');
    expect(acked.inform.retryCount).toBe(2);
    expect(informs.map(events)).toEqual([
      ['0 BOOTSTRAP', '1 BOOT'],
      ['0 BOOTSTRAP', '1 BOOT'],
      ['0 BOOTSTRAP', '1 BOOT'],
    ]);
    for (const n of [1, 2]) {
      await until(() => !h!.shard.isPoweredOn(0), 5000, `dark #${n}`);
      h.tick(rebootMs(h));
      expect(events((await sessionEnded(h, n, `boot #${n}`)).inform)).toEqual(['1 BOOT', `M Reboot:rb-${n}`]);
    }
    expect(informs.filter((i) => has(i, '0 BOOTSTRAP'))).toHaveLength(3);
  });
});

describe('the 64-event limit of an Inform (TR-069 A.3.3.1)', () => {
  it('sends M events past 64 in the following sessions instead of losing them', async () => {
    const keys = Array.from({ length: 70 }, (_, i) => `k${i}`);
    let sent = false;
    const hh = await startHarness({
      acs: {
        script: (i) => {
          if (sent || !i.events.some((e) => e.code === '0 BOOTSTRAP')) return undefined;
          sent = true;
          return keys.map((k) => ({ method: 'ScheduleInform' as const, delaySeconds: 10, commandKey: k }));
        },
      },
    });
    try {
      hh.tick();
      await until(() => hh.shard.admin.stats().sessionsOk >= 1, 10_000, 'bootstrap');
      hh.tick(10_000);
      await until(() => hh.shard.admin.stats().sessionsOk >= 3, 10_000, 'two scheduled sessions');
      const delivered = hh.acs.sessions.slice(1).flatMap((s) => s.inform.events.filter((e) => e.code === 'M ScheduleInform').map((e) => e.commandKey));
      expect(hh.acs.sessions[1]!.inform.events.length).toBe(64);
      expect(delivered.sort()).toEqual([...keys].sort());
    } finally {
      await hh.stop();
    }
  });
});
