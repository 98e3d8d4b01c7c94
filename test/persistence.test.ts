// What the state dir keeps and clears (docs/persistence.md), one shard against a mock ACS
// over HTTP: a shard is stopped and a new one started on the same folder, as a restart does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from '@jest/globals';
import { prepareStateDir, StateDirError, StateStore } from '../src/persist/store.js';
import { atBootstrap, bootstrapped, events, spv, startHarness, until, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cpe-sim-persist-'));
  dirs.push(d);
  return d;
};
const SSID = 'Device.WiFi.SSID.1.SSID';
const START = Date.UTC(2026, 0, 1);

/** Records in the state dir, by global index. */
async function records(dir: string): Promise<Map<number, unknown>> {
  const store = new StateStore(dir);
  const out = new Map<number, unknown>();
  for (const [i, r] of store.load(0, 1_000_000, () => undefined)) out.set(i, r);
  await store.close();
  return out;
}

describe('a restart with the same state dir', () => {
  it('brings back values, rows, attributes and ParameterKey, and informs 1 BOOT instead of 0 BOOTSTRAP', async () => {
    const dir = tempDir();
    h = await startHarness({
      stateDir: dir,
      acs: {
        script: atBootstrap(
          spv('pk-1', [SSID, 'kept-ssid', 'string']),
          { method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: 'pk-2' },
          { method: 'SetParameterAttributes', params: [{ name: SSID, notificationChange: true, notification: 1, accessListChange: false, accessList: [] }] },
        ),
      },
    });
    await bootstrapped(h);
    const before = h.shard.view(0);
    const rows = before.get('Device.NAT.PortMappingNumberOfEntries');
    await h.stop();

    h = await startHarness({ stateDir: dir });
    const v = h.shard.view(0);
    expect(v.get(SSID)).toBe('kept-ssid');
    expect(v.get('Device.ManagementServer.ParameterKey')).toBe('pk-2');
    expect(v.get('Device.NAT.PortMappingNumberOfEntries')).toBe(rows);
    expect(v.overlay?.attrs?.get(SSID)?.notification).toBe(1);
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'the boot session');
    expect(events(h.acs.sessions[0]!.inform)).toEqual(['1 BOOT']);
  });

  it('keeps pending work: a ScheduleInform due after the restart is informed with its CommandKey', async () => {
    const dir = tempDir();
    h = await startHarness({ stateDir: dir, clockStart: START, acs: { script: atBootstrap({ method: 'ScheduleInform', delaySeconds: 3600, commandKey: 'later' }) } });
    await bootstrapped(h);
    await h.stop();
    // Restarted ten minutes later; the scheduled inform is due 50 minutes after that.
    h = await startHarness({ stateDir: dir, clockStart: START + 600_000 });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'the boot session');
    expect(events(h.acs.sessions[0]!.inform)).toEqual(['1 BOOT']);
    h.tick(3000_000);
    await h.acs.waitFor(() => h!.acs.sessions.length === 2 && h!.acs.sessions[1]!.ended, 10_000, 'the scheduled inform');
    // (A periodic Inform due about then may ride in the same session.)
    expect(events(h.acs.sessions[1]!.inform)).toEqual(expect.arrayContaining(['3 SCHEDULED', 'M ScheduleInform:later']));
  });

  it('keeps a Download accepted before the restart: it runs after its delay and its TransferComplete reaches the ACS', async () => {
    const dir = tempDir();
    const download = { method: 'Download' as const, commandKey: 'dl-1', fileType: '3 Vendor Configuration File', url: 'http://127.0.0.1:9/cfg.bin', username: '', password: '', fileSize: 0, targetFileName: '', delaySeconds: 60, successUrl: '', failureUrl: '' };
    h = await startHarness({ stateDir: dir, clockStart: START, transfers: 'skip', acs: { script: atBootstrap(download) } });
    await bootstrapped(h);
    expect(h.shard.device.extras.get(0)?.transfers).toHaveLength(1);
    await h.stop();
    // Back with the same clock: the delay counts from the boot, as after the session that accepted it.
    h = await startHarness({ stateDir: dir, clockStart: START, transfers: 'skip' });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'the boot session');
    expect(h.acs.transferCompletes).toHaveLength(0);
    h.tick(60_000);
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 1, 10_000, 'the TransferComplete');
    expect(h.acs.transferCompletes[0]).toMatchObject({ commandKey: 'dl-1', fault: { code: 0 } });
    const s = h.acs.sessions.find((x) => events(x.inform).includes('7 TRANSFER COMPLETE'))!;
    expect(events(s.inform)).toEqual(expect.arrayContaining(['7 TRANSFER COMPLETE', 'M Download:dl-1']));
  });

  it('a factory reset clears the stored state: the next start is a new device', async () => {
    const dir = tempDir();
    let reset = false;
    h = await startHarness({
      stateDir: dir,
      acs: {
        script: (inform) => {
          if (events(inform).includes('0 BOOTSTRAP') && !reset) return [spv('pk-1', [SSID, 'kept-ssid', 'string'])];
          if (!reset) {
            reset = true;
            return [{ method: 'FactoryReset' }];
          }
          return undefined;
        },
      },
    });
    await bootstrapped(h);
    expect((await records(dir)).get(0)).toMatchObject({ bootstrapped: 1, values: expect.arrayContaining([[SSID, 'kept-ssid']]) });
    // A periodic session gets the FactoryReset; the CPE goes dark and comes back new.
    h.tick(h.cwmp.periodicDueAt(0) - h.clock.now());
    await until(() => reset && h!.shard.lifecycle(0) === 'bootstrapping', 10_000, 'the reset');
    await until(() => h!.shard.view(0).get(SSID) !== 'kept-ssid', 10_000, 'the overlay wiped');
    await h.stop();
    h = undefined;
    // Nothing but (at most) the installed firmware is left of it.
    const r = (await records(dir)).get(0) as Record<string, unknown> | undefined;
    expect(r?.['values']).toBeUndefined();
    expect(r?.['bootstrapped']).toBeUndefined();
    h = await startHarness({ stateDir: dir });
    expect(h.shard.view(0).get(SSID)).not.toBe('kept-ssid');
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'the boot session');
    expect(events(h.acs.sessions[0]!.inform)).toContain('0 BOOTSTRAP');
  });
});

describe('the state dir belongs to one fleet', () => {
  const shape = { seed: 1, fleetOffset: 0, cpes: 100, profile: 'example-tr181-gateway' };

  it('keeps the connection-request secret it was made with', async () => {
    const dir = tempDir();
    const a = await prepareStateDir(dir, shape, undefined, () => 'secret-one');
    expect(a).toEqual({ crSecret: 'secret-one', created: true });
    const b = await prepareStateDir(dir, shape, undefined, () => 'secret-two');
    expect(b).toEqual({ crSecret: 'secret-one', created: false });
    await expect(prepareStateDir(dir, shape, 'another', () => 'x')).rejects.toThrow(/--cr-secret differs/);
  });

  it('refuses another seed, offset, size or profile, naming each difference', async () => {
    const dir = tempDir();
    await prepareStateDir(dir, shape, undefined, () => 's');
    const e = await prepareStateDir(dir, { seed: 2, fleetOffset: 10, cpes: 100, profile: 'huawei-bm632w-tr098' }, undefined, () => 's').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StateDirError);
    expect((e as Error).message).toBe(
      `config: stateDir: ${dir} was made for another fleet: --seed 1 there, 2 here; --fleet-offset 0 there, 10 here; --profile "example-tr181-gateway" there, "huawei-bm632w-tr098" here. Run with the same options, or use another folder`,
    );
  });

  it('refuses a state dir of another record format instead of misreading it', async () => {
    const dir = tempDir();
    await prepareStateDir(dir, shape, undefined, () => 's');
    const db = open({ path: join(dir, 'cpe-sim.mdb'), compression: false });
    const meta = db.get('meta') as Record<string, unknown>;
    await db.put('meta', { ...meta, format: 99 });
    await db.close();
    await expect(prepareStateDir(dir, shape, undefined, () => 's')).rejects.toThrow(/holds state format 99, written by another version of cpe-sim; this one reads format 1/);
  });
});
