import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { AcsOutgoingRequest } from '../src/cwmp/types.js';
import type { LinkFaultSpec } from '../src/scenario/model.js';
import { startFileServer, type FileServer } from './helpers/file-server.js';
import { bootstrapped, isBootstrap, startHarness, until, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
let files: FileServer;
/** Big enough that the server cannot have handed it all to the kernel when the client cuts. */
const BIG = 32 * 1024 * 1024;
beforeEach(async () => {
  files = await startFileServer({ 'big.tar': BIG });
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await files.close();
});

const clean: LinkFaultSpec = { latencyMs: 0, jitterMs: 0, resetProbability: 0, stallProbability: 0, down: false };

function download(url: string): AcsOutgoingRequest {
  return { method: 'Download', commandKey: 'dl-fault', fileType: '3 Vendor Configuration File', url, username: '', password: '', fileSize: 0, targetFileName: '', delaySeconds: 0, successUrl: '', failureUrl: '' };
}

/**
 * Bootstrap with a Download, put the fault on the link for 1 s as the transfer starts, and
 * return the TransferComplete that reaches the ACS once the link is clean again (the
 * session right after the transfer meets the fault too and is retried).
 */
async function transferUnder(f: Partial<LinkFaultSpec>) {
  let sent = false;
  h = await startHarness({ random: () => 0, acs: { script: (i) => (!sent && isBootstrap(i) ? ((sent = true), [download(`${files.url}/big.tar`)]) : undefined) } });
  await bootstrapped(h);
  h.shard.applyEvent({ kind: 'linkFault', target: {}, durationSeconds: 1, fault: { ...clean, ...f } }, h.clock.now());
  h.tick();
  await until(() => h!.shard.admin.stats().sessionsFailed === 1, 10_000, 'the TransferComplete session to meet the fault');
  h.tick(h.cwmp.retryDueAt(0) - h.clock.now());
  await h.acs.waitFor(() => h!.acs.transferCompletes.length === 1, 10_000, 'TransferComplete');
  return h.acs.transferCompletes[0]!;
}

describe('link faults on file transfers (docs/cwmp-behaviour.md "Link faults")', () => {
  it('a reset cuts the download mid-body: the file server sees the connection die, TransferComplete says 9017', async () => {
    const tc = await transferUnder({ resetProbability: 1 });
    expect(tc.fault.code).toBe(9017);
    expect(files.gets).toEqual(['/big.tar']);
    await until(() => files.cut.length === 1, 10_000, 'the file server to see the cut');
    expect(h!.shard.admin.stats().failReasons).toEqual({ reset: 1 });
  });

  it('a down link cannot reach the file server: 9015, and no request arrives there', async () => {
    const tc = await transferUnder({ down: true });
    expect(tc.fault.code).toBe(9015);
    expect(files.gets).toEqual([]);
    expect(h!.shard.admin.stats().failReasons).toEqual({ 'link-down': 1 });
  });

  it('without a fault the same download completes', async () => {
    let sent = false;
    h = await startHarness({ acs: { script: (i) => (!sent && isBootstrap(i) ? ((sent = true), [download(`${files.url}/big.tar`)]) : undefined) } });
    await bootstrapped(h);
    h.tick();
    await h.acs.waitFor(() => h!.acs.transferCompletes.length === 1, 10_000, 'TransferComplete');
    expect(h.acs.transferCompletes[0]!.fault.code).toBe(0);
    expect(files.cut).toEqual([]);
  });
});
