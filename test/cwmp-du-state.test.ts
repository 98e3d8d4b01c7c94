import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import type { AcsOutgoingRequest, DuOperation } from '../src/cwmp/types.js';
import { startFileServer, type FileServer } from './helpers/file-server.js';
import { bootstrapped, events, startHarness, until, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
let files: FileServer;
beforeEach(async () => {
  files = await startFileServer({ 'app-1.2.0.ipk': 3000, 'app-1.3.0.ipk': 3100 });
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await files.close();
});

const U1 = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
const U2 = '6fa459ea-ee8a-3ca4-894e-db77e160355e';
const cds = (commandKey: string, ...operations: DuOperation[]): AcsOutgoingRequest => ({ method: 'ChangeDUState', commandKey, operations });
const install = (uuid: string, file: string, ee = ''): DuOperation => ({ op: 'Install', url: `${files.url}/files/${file}`, uuid, username: '', password: '', executionEnvRef: ee });

/** Run a session carrying `req`, then let the change run and wait for its DUStateChangeComplete. */
async function change(req: AcsOutgoingRequest, n: number) {
  queue.push(req);
  h!.cwmp.raise(0, EV.PERIODIC);
  // Fire due timers (the change starts once its session has ended) until the report arrives.
  await until(
    () => {
      h!.tick();
      return h!.acs.duStateChangeCompletes.length >= n;
    },
    10_000,
    'DUStateChangeComplete',
  );
  return h!.acs.duStateChangeCompletes[n - 1]!;
}
let queue: AcsOutgoingRequest[] = [];

beforeEach(async () => {
  queue = [];
  h = await startHarness({ acs: { script: () => queue.splice(0) } });
  await bootstrapped(h);
});

describe('ChangeDUState (TR-069 A.4.1.10)', () => {
  it('installs, updates and uninstalls a deployment unit, reflected in Device.SoftwareModules', async () => {
    const c1 = await change(cds('ins', install(U1, 'app-1.2.0.ipk')), 1);
    expect(c1.commandKey).toBe('ins');
    expect(c1.results).toEqual([
      expect.objectContaining({ uuid: U1, deploymentUnitRef: 'Device.SoftwareModules.DeploymentUnit.1', version: '1.2.0', currentState: 'Installed', resolved: true, executionUnitRefList: 'Device.SoftwareModules.ExecutionUnit.1', fault: { code: 0, message: '' } }),
    ]);
    const s = h!.acs.sessions.find((x) => x.messages.some((m) => m.message.method === 'DUStateChangeComplete'))!;
    expect(events(s.inform)).toEqual(['11 DU STATE CHANGE COMPLETE', 'M ChangeDUState:ins']);
    let v = h!.shard.view(0);
    expect(v.get('Device.SoftwareModules.DeploymentUnitNumberOfEntries')).toBe('1');
    expect(v.get('Device.SoftwareModules.DeploymentUnit.1.UUID')).toBe(U1);
    expect(v.get('Device.SoftwareModules.DeploymentUnit.1.Name')).toBe('app');
    expect(v.get('Device.SoftwareModules.ExecutionUnit.1.Version')).toBe('1.2.0');
    expect(files.gets).toEqual(['/files/app-1.2.0.ipk']);

    const c2 = await change(cds('upd', { op: 'Update', uuid: U1, version: '', url: `${files.url}/files/app-1.3.0.ipk`, username: '', password: '' }), 2);
    expect(c2.results[0]).toMatchObject({ currentState: 'Installed', version: '1.3.0', fault: { code: 0 } });
    v = h!.shard.view(0);
    expect(v.get('Device.SoftwareModules.DeploymentUnit.1.Version')).toBe('1.3.0');

    const c3 = await change(cds('un', { op: 'Uninstall', uuid: U1, version: '', executionEnvRef: '' }), 3);
    expect(c3.results[0]).toMatchObject({ currentState: 'Uninstalled', fault: { code: 0 } });
    v = h!.shard.view(0);
    expect(v.get('Device.SoftwareModules.DeploymentUnitNumberOfEntries')).toBe('0');
    expect(v.get('Device.SoftwareModules.ExecutionUnitNumberOfEntries')).toBe('0');
  });

  it('reports per-operation faults: fetch failure, unknown EE, duplicate DU, unknown DU, bad UUID', async () => {
    const c = await change(
      cds(
        'mix',
        install(U1, 'missing-2.0.ipk'),
        install(U2, 'app-1.2.0.ipk', 'Device.SoftwareModules.ExecEnv.9'),
        install(U2, 'app-1.2.0.ipk'),
        install(U2, 'app-1.2.0.ipk'),
        { op: 'Uninstall', uuid: U1, version: '', executionEnvRef: '' },
        install('not-a-uuid', 'app-1.2.0.ipk'),
      ),
      1,
    );
    expect(c.results.map((r) => [r.currentState, r.fault.code])).toEqual([
      ['Failed', 9016],
      ['Failed', 9023],
      ['Installed', 0],
      ['Failed', 9026],
      ['Failed', 9028],
      ['Failed', 9022],
    ]);
  });

  it('the ACS cannot add or delete SoftwareModules rows itself', async () => {
    queue.push({ method: 'AddObject', objectName: 'Device.SoftwareModules.DeploymentUnit.', parameterKey: '' });
    h!.cwmp.raise(0, EV.PERIODIC);
    await h!.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    expect(h!.acs.sessions[1]!.messages.at(-1)!.message).toMatchObject({ method: 'Fault', fault: { code: 9005 } });
  });
});
