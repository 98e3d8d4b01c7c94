import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import type { AcsOutgoingRequest } from '../src/cwmp/types.js';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_DOWNLOAD_BYTES } from '../src/profile/types.js';
import { ENDLESS_LIMIT, startFileServer, PASS, USER, type FileServer } from './helpers/file-server.js';
import { bootstrapped, events, exampleProfile, isBootstrap, rebootMs, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
let files: FileServer;
beforeEach(async () => {
  files = await startFileServer({ 'HGW-5200-5.5.0.img': 4096, 'web.tar': 2048, 'big.img': 1024 * 1024 });
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await files.close();
});

function dl(url: string, over: Partial<Extract<AcsOutgoingRequest, { method: 'Download' }>> = {}): AcsOutgoingRequest {
  return { method: 'Download', commandKey: 'dl-1', fileType: '3 Vendor Configuration File', url, username: '', password: '', fileSize: 0, targetFileName: '', delaySeconds: 0, successUrl: '', failureUrl: '', ...over };
}

async function run(reqs: AcsOutgoingRequest[], extra: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  let sent = false;
  const harness = await startHarness({
    acsTimeoutMs: 1000,
    ...extra,
    acs: { ...extra.acs, script: (i) => (!sent && isBootstrap(i) ? ((sent = true), reqs) : undefined) },
  });
  await bootstrapped(harness);
  return harness;
}

/** Let the transfer run (its timer is due now), then wait for the TransferComplete to reach the ACS. */
async function transferComplete(h: Harness, n = 1) {
  h.tick();
  await h.acs.waitFor(() => h.acs.transferCompletes.length >= n, 10_000, 'TransferComplete');
  return h.acs.transferCompletes[n - 1]!;
}

describe('Download (TR-069 A.3.2.8)', () => {
  it('answers Status 1 with unknown times, fetches after the session, and reports 7 TRANSFER COMPLETE + M Download with TransferComplete', async () => {
    h = await run([dl(`${files.url}/files/web.tar`, { fileType: '2 Web Content', fileSize: 2048 })]);
    expect(h.acs.sessions[0]!.messages.at(-1)!.message).toEqual({ method: 'DownloadResponse', status: 1, startTime: '0001-01-01T00:00:00Z', completeTime: '0001-01-01T00:00:00Z' });
    const tc = await transferComplete(h);
    expect(files.gets).toEqual(['/files/web.tar']);
    expect(tc.commandKey).toBe('dl-1');
    expect(tc.fault).toEqual({ code: 0, message: '' });
    expect(Date.parse(tc.startTime)).toBeGreaterThan(0);
    const s = h.acs.sessions.find((x) => x.messages.some((m) => m.message.method === 'TransferComplete'))!;
    expect(events(s.inform)).toEqual(['7 TRANSFER COMPLETE', 'M Download:dl-1']);
    // Acknowledged: nothing is re-sent next time.
    await until(() => h!.shard.lifecycle(0) === 'ready');
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions.at(-1)!.inform.events.some((e) => e.code === '2 PERIODIC') && h!.acs.sessions.at(-1)!.ended);
    expect(events(h.acs.sessions.at(-1)!.inform)).toEqual(['2 PERIODIC']);
    expect(h.acs.transferCompletes).toHaveLength(1);
  });

  it('honours DelaySeconds', async () => {
    h = await run([dl(`${files.url}/files/web.tar`, { delaySeconds: 60 })]);
    h.tick(59_000);
    await settle(h);
    expect(files.gets).toEqual([]);
    h.tick(1000);
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 1, 10_000, 'TransferComplete');
    expect(files.gets).toEqual(['/files/web.tar']);
  });

  it('installs a firmware image: reboots and informs 1 BOOT + 7 TRANSFER COMPLETE + M Download with the new SoftwareVersion', async () => {
    h = await run([dl(`${files.url}/fw/HGW-5200-5.5.0.img`, { commandKey: 'fw', fileType: '1 Firmware Upgrade Image', fileSize: 4096 })]);
    h.tick();
    await until(() => !h!.shard.isPoweredOn(0), 10_000, 'reboot into the new image');
    h.tick(rebootMs(h));
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 1, 10_000, 'TransferComplete after boot');
    const boot = h.acs.sessions.at(-1)!;
    // SoftwareVersion is always actively notified (forceEnabled): the new image announces itself.
    expect(events(boot.inform)).toEqual(['1 BOOT', '4 VALUE CHANGE', '7 TRANSFER COMPLETE', 'M Download:fw']);
    expect(boot.inform.params.find((p) => p.name === 'Device.DeviceInfo.SoftwareVersion')!.value).toBe('5.5.0');
    const v = h.shard.view(0);
    expect(v.get('Device.DeviceInfo.FirmwareImage.2.Version')).toBe('5.5.0');
    expect(v.get('Device.DeviceInfo.FirmwareImage.2.Status')).toBe('Active');
    expect(v.get('Device.DeviceInfo.FirmwareImage.1.Status')).toBe('Available');
    expect(h.acs.transferCompletes[0]!.fault.code).toBe(0);
  });

  it.each([
    ['a missing file', 9016, '/files/nope.img', {}],
    ['Basic with wrong credentials', 9012, '/basic/web.tar', { username: USER, password: 'wrong' }],
    ['a body cut short', 9017, '/files/short.img', {}],
    ['a stalled body (timeout)', 9017, '/files/stall.img', {}],
    ['a file shorter than FileSize', 9018, '/files/web.tar', { fileSize: 4096 }],
    ['a file longer than FileSize (stopped at its Content-Length)', 9017, '/files/web.tar', { fileSize: 999 }],
  ] as const)('maps %s to fault %i', async (_what, code, path, over) => {
    h = await run([dl(`${files.url}${path}`, over)]);
    const tc = await transferComplete(h);
    expect(tc.fault.code).toBe(code);
    expect(tc.fault.message).not.toBe('');
    expect(h.shard.isPoweredOn(0)).toBe(true);
  });

  it('maps an unreachable server to 9015 and a non-HTTP URL to 9013', async () => {
    h = await run([dl('http://127.0.0.1:9/x.img'), dl('ftp://127.0.0.1/x.img', { commandKey: 'dl-2' })]);
    h.tick();
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 2, 10_000, 'two TransferCompletes');
    expect(Object.fromEntries(h.acs.transferCompletes.map((t) => [t.commandKey, t.fault.code]))).toEqual({ 'dl-1': 9015, 'dl-2': 9013 });
  });

  it('downloads over HTTPS from a server signed by the --acs-ca-file CA, and fails 9012 without it', async () => {
    const { readFileSync } = await import('node:fs');
    const { fixture } = await import('./helpers/harness.js');
    const tls = { key: readFileSync(fixture('tls/server-key.pem'), 'utf8'), cert: readFileSync(fixture('tls/server.pem'), 'utf8') };
    const secure = await startFileServer({ 'web.tar': 2048 }, tls);
    try {
      h = await run([dl(`${secure.url}/files/web.tar`)], { acsCaFile: fixture('tls/ca.pem') });
      expect((await transferComplete(h)).fault.code).toBe(0);
      await h.stop();
      h = await run([dl(`${secure.url}/files/web.tar`)]);
      expect((await transferComplete(h)).fault.code).toBe(9012);
    } finally {
      await secure.close();
    }
  });

  it('presents the --acs-cert client certificate to a file server that requires one (refused without it)', async () => {
    const { readFileSync } = await import('node:fs');
    const { fixture } = await import('./helpers/harness.js');
    const pem = (f: string): string => readFileSync(fixture(f), 'utf8');
    const secure = await startFileServer({ 'web.tar': 2048 }, { key: pem('tls/server-key.pem'), cert: pem('tls/server.pem'), ca: pem('tls/client-ca.pem'), requestCert: true });
    try {
      h = await run([dl(`${secure.url}/files/web.tar`)], { acsCaFile: fixture('tls/ca.pem'), acsCert: { certFile: fixture('tls/client.pem'), keyFile: fixture('tls/client-key.pem') } });
      const ok = await transferComplete(h);
      expect([ok.fault.code, ok.fault.message]).toEqual([0, '']);
      await h.stop();
      h = await run([dl(`${secure.url}/files/web.tar`)], { acsCaFile: fixture('tls/ca.pem') });
      // Under TLS 1.3 the server checks the client's certificate after the client thinks the
      // handshake is done, then closes: the CPE sees the connection closed before any answer.
      const f = (await transferComplete(h)).fault;
      expect([f.code, f.message]).toEqual([9017, 'UND_ERR_SOCKET: other side closed']);
      expect(secure.gets).toEqual(['/files/web.tar']); // only the first run's GET got through
    } finally {
      await secure.close();
    }
  });

  it('authenticates with Basic and with Digest', async () => {
    h = await run([dl(`${files.url}/basic/web.tar`, { username: USER, password: PASS }), dl(`${files.url}/digest/web.tar`, { commandKey: 'dl-2', username: USER, password: PASS })]);
    h.tick();
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 2, 10_000, 'two TransferCompletes');
    expect(h.acs.transferCompletes.map((t) => t.fault.code)).toEqual([0, 0]);
  });

  it('re-sends TransferComplete until a TransferCompleteResponse arrives', async () => {
    let refuse = true;
    h = await run([dl(`${files.url}/files/web.tar`)], { acs: { refuseTransferComplete: () => refuse } });
    await transferComplete(h);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    refuse = false;
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 2, 10_000, 'second TransferComplete');
    const s = h.acs.sessions.at(-1)!;
    expect(events(s.inform)).toEqual(['2 PERIODIC', '7 TRANSFER COMPLETE', 'M Download:dl-1']);
  });

  it('skips the bytes with transfers=skip but still reports success', async () => {
    h = await run([dl(`${files.url}/files/web.tar`)], { transfers: 'skip' });
    const tc = await transferComplete(h);
    expect(tc.fault.code).toBe(0);
    expect(files.gets).toEqual([]);
  });
});

describe('Upload, CancelTransfer and the transfer queue', () => {
  it('PUTs a generated configuration file and reports M Upload', async () => {
    h = await run([{ method: 'Upload', commandKey: 'up-1', fileType: '1 Vendor Configuration File', url: `${files.url}/digest/cfg.txt`, username: USER, password: PASS, delaySeconds: 0 }]);
    const tc = await transferComplete(h);
    expect(tc.fault.code).toBe(0);
    expect(files.puts).toHaveLength(1);
    expect(files.puts[0]!.body).toContain(`Device.WiFi.SSID.1.SSID=`);
    expect(files.puts[0]!.body).toContain(h.shard.env.serial(0));
    const s = h.acs.sessions.find((x) => x.messages.some((m) => m.message.method === 'TransferComplete'))!;
    expect(events(s.inform)).toEqual(['7 TRANSFER COMPLETE', 'M Upload:up-1']);
  });

  it('lists queued transfers, cancels one not yet started, and refuses unknown keys with 9021', async () => {
    h = await run([
      dl(`${files.url}/files/web.tar`, { commandKey: 'later', delaySeconds: 3600 }),
      { method: 'GetAllQueuedTransfers' },
      { method: 'CancelTransfer', commandKey: 'later' },
      { method: 'CancelTransfer', commandKey: 'never-heard-of' },
      { method: 'GetQueuedTransfers' },
    ]);
    const answers = h.acs.sessions[0]!.messages.slice(2).map((m) => m.message);
    expect(answers[1]).toEqual({ method: 'GetAllQueuedTransfersResponse', transfers: [{ commandKey: 'later', state: 1, isDownload: true, fileType: '3 Vendor Configuration File', fileSize: 0, targetFileName: '' }] });
    expect(answers[2]).toEqual({ method: 'CancelTransferResponse' });
    expect(answers[3]).toMatchObject({ method: 'Fault', fault: { code: 9021 } });
    expect(answers[4]).toEqual({ method: 'GetQueuedTransfersResponse', transfers: [] });
    h.tick(3600_000);
    await settle(h);
    expect(files.gets).toEqual([]);
  });

  it('ScheduleDownload runs inside its time window and reports M ScheduleDownload', async () => {
    const win = (start: number, end: number, mode = '1 At Any Time') => ({ windowStart: start, windowEnd: end, windowMode: mode, userMessage: '', maxRetries: 0 });
    h = await run([
      { method: 'ScheduleDownload', commandKey: 'sd-1', fileType: '2 Web Content', url: `${files.url}/files/web.tar`, username: '', password: '', fileSize: 2048, targetFileName: '', timeWindows: [win(60, 120)] },
      { method: 'ScheduleDownload', commandKey: 'sd-2', fileType: '2 Web Content', url: `${files.url}/files/web.tar`, username: '', password: '', fileSize: 0, targetFileName: '', timeWindows: [win(30, 90, '4 Confirmation Needed')] },
      { method: 'ScheduleDownload', commandKey: 'bad', fileType: '2 Web Content', url: `${files.url}/x`, username: '', password: '', fileSize: 0, targetFileName: '', timeWindows: [win(10, 100), win(50, 200)] },
    ]);
    const answers = h.acs.sessions[0]!.messages.slice(2).map((m) => (m.message.method === 'Fault' ? m.message.fault.code : m.message.method));
    expect(answers).toEqual(['ScheduleDownloadResponse', 'ScheduleDownloadResponse', 9003]);
    h.tick(59_000);
    await settle(h);
    expect(files.gets).toEqual([]);
    h.tick(1000);
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 1, 10_000, 'scheduled download');
    expect(h.acs.transferCompletes[0]).toMatchObject({ commandKey: 'sd-1', fault: { code: 0 } });
    const s = h.acs.sessions.at(-1)!;
    expect(events(s.inform)).toEqual(['7 TRANSFER COMPLETE', 'M ScheduleDownload:sd-1']);
    // The window that needs a confirmation nobody can give closes: 9020.
    await until(() => h!.shard.lifecycle(0) === 'ready');
    h.tick(30_000);
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 2, 10_000, 'window missed');
    expect(h.acs.transferCompletes[1]).toMatchObject({ commandKey: 'sd-2', fault: { code: 9020 } });
    expect(files.gets).toEqual(['/files/web.tar']);
  });
});

describe('Download sizes: the CPE stops at once', () => {
  let tmp: string | undefined;
  afterEach(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  /** The example profile with room for `max` bytes per download. */
  function profileWithRoom(max: number): string {
    tmp = mkdtempSync(join(tmpdir(), 'cpe-sim-dl-'));
    const dir = join(tmp, 'small-flash');
    cpSync(exampleProfile, dir, { recursive: true });
    const yaml = readFileSync(join(dir, 'profile.yaml'), 'utf8').replace('settings:\n', `settings:\n  maxDownloadBytes: ${max}\n`);
    writeFileSync(join(dir, 'profile.yaml'), yaml);
    return dir;
  }

  it('a body that passes FileSize stops as soon as it does: 9017, the server sees the connection closed long before its end', async () => {
    h = await run([dl(`${files.url}/files/endless.img`, { fileSize: 4096 })]);
    const tc = await transferComplete(h);
    expect(tc.fault.code).toBe(9017);
    expect(tc.fault.message).toMatch(/passed FileSize: \d+ bytes, FileSize said 4096/);
    await until(() => files.streamed[0]?.closedEarly === true, 10_000, 'the file server to see the close');
    // What the server wrote is what the socket buffers took before the CPE closed: a tiny part of the file.
    expect(files.streamed[0]!.bytes).toBeLessThan(ENDLESS_LIMIT / 8);
  });

  it(`a file over the profile's maxDownloadBytes (default ${DEFAULT_MAX_DOWNLOAD_BYTES}) stops at once with 9010: streamed, announced by Content-Length, or by FileSize (not fetched)`, async () => {
    const max = 64 * 1024;
    h = await run(
      [
        dl(`${files.url}/files/endless.img`, { commandKey: 'stream' }),
        dl(`${files.url}/files/big.img`, { commandKey: 'announced' }),
        dl(`${files.url}/files/web.tar`, { commandKey: 'filesize', fileSize: max + 1 }),
        dl(`${files.url}/files/web.tar`, { commandKey: 'fits', fileSize: 2048 }),
      ],
      { profileDir: profileWithRoom(max) },
    );
    h.tick();
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 4, 10_000, 'four TransferCompletes');
    const byKey = Object.fromEntries(h.acs.transferCompletes.map((t) => [t.commandKey, t.fault]));
    expect(byKey['stream']!.code).toBe(9010);
    expect(byKey['stream']!.message).toContain(`passes the CPE's download limit of ${max} bytes`);
    expect(byKey['announced']!.code).toBe(9010);
    expect(byKey['announced']!.message).toContain('Content-Length');
    expect(byKey['filesize']!.code).toBe(9010);
    expect(byKey['fits']).toEqual({ code: 0, message: '' });
    // FileSize over the cap: the file server was never asked for it.
    expect(files.gets.sort()).toEqual(['/files/big.img', '/files/endless.img', '/files/web.tar']);
    await until(() => files.streamed[0]?.closedEarly === true, 10_000, 'the file server to see the close');
    expect(files.streamed[0]!.bytes).toBeLessThan(ENDLESS_LIMIT / 8);
  });
});
