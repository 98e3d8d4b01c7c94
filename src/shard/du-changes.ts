// ChangeDUState operations against Device.SoftwareModules (TR-069 A.4.1.10, TR-181
// SoftwareModules): Install fetches the unit like a Download and adds DeploymentUnit and
// ExecutionUnit rows; Update fetches the new version; Uninstall removes the rows.
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { CpeView } from '../datamodel/view.js';
import type { DuOperation, DuOpResult, TransferFault } from '../cwmp/types.js';
import { isoSeconds } from '../datamodel/datetime.js';
import { transfer } from './transfers.js';

const SM = (v: CpeView) => `${v.template.rootName}.SoftwareModules.`;
const OK: TransferFault = { code: 0, message: '' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DuContext {
  view(): CpeView;
  /** The view's writes must be kept (the overlay may be new). */
  keep(view: CpeView): void;
  now(): number;
  timeoutMs: number;
  /** The profile's settings.maxDownloadBytes: a larger unit stops at once (9010). */
  maxBytes: number;
  fetch: boolean;
  dispatcher?: Dispatcher | undefined;
}

function rowsOf(v: CpeView, table: string): number[] {
  const r = v.resolve(table);
  return r?.kind === 'table' ? [...v.rows(r.node, r.path, r.inst)] : [];
}

function findDu(v: CpeView, uuid: string, version: string): number | undefined {
  return rowsOf(v, `${SM(v)}DeploymentUnit.`).find((n) => v.get(`${SM(v)}DeploymentUnit.${n}.UUID`) === uuid && (!version || v.get(`${SM(v)}DeploymentUnit.${n}.Version`) === version));
}

const versionIn = (url: string): string => /\d+(?:\.\d+)+/.exec(decodeURIComponent(url.split('/').pop() ?? ''))?.[0] ?? '1.0';
const nameIn = (url: string): string => (decodeURIComponent(url.split('/').pop() ?? 'unit').replace(/[-_]?\d+(?:\.\d+)+.*$/, '').replace(/\.[^.]*$/, '') || 'unit');

async function fetchUnit(ctx: DuContext, url: string, username: string, password: string): Promise<TransferFault> {
  if (!ctx.fetch) return OK;
  const out = await transfer({ method: 'GET', url, username, password, timeoutMs: ctx.timeoutMs, maxBytes: ctx.maxBytes, dispatcher: ctx.dispatcher });
  return out.ok ? OK : out.fault;
}

export async function runDuOperation(ctx: DuContext, op: DuOperation): Promise<DuOpResult> {
  const start = isoSeconds(ctx.now());
  const result = (over: Partial<DuOpResult>): DuOpResult => ({
    uuid: '',
    deploymentUnitRef: '',
    version: '',
    currentState: 'Failed',
    resolved: true,
    executionUnitRefList: '',
    startTime: start,
    completeTime: isoSeconds(ctx.now()),
    fault: OK,
    ...over,
  });
  let v = ctx.view();
  const sm = SM(v);
  switch (op.op) {
    case 'Install': {
      const uuid = op.uuid || randomUUID();
      if (!UUID.test(uuid)) return result({ uuid, fault: { code: 9022, message: 'Invalid UUID format' } });
      const ee = op.executionEnvRef || `${sm}ExecEnv.1`;
      if (v.resolve(ee.endsWith('.') ? ee : `${ee}.`)?.kind !== 'row') return result({ uuid, fault: { code: 9023, message: `Unknown Execution Environment ${ee}` } });
      if (findDu(v, uuid, '') !== undefined) return result({ uuid, fault: { code: 9026, message: 'Duplicate Deployment Unit' } });
      const f = await fetchUnit(ctx, op.url, op.username, op.password);
      if (f.code !== 0) return result({ uuid, fault: f });
      v = ctx.view();
      const version = versionIn(op.url);
      const name = nameIn(op.url);
      const eu = v.deviceAddRow(`${sm}ExecutionUnit.`, { Name: name, Status: 'Idle', RequestedState: 'Idle', Version: version, Vendor: v.ctx.identity.manufacturer, ExecutionEnvRef: ee.replace(/\.$/, '') });
      const euRef = eu === undefined ? '' : `${sm}ExecutionUnit.${eu}`;
      if (eu !== undefined) v.deviceSet(`${euRef}.EUID`, String(eu));
      const du = v.deviceAddRow(`${sm}DeploymentUnit.`, { UUID: uuid, Name: name, Status: 'Installed', Resolved: 'true', URL: op.url, Version: version, Vendor: v.ctx.identity.manufacturer, ExecutionUnitList: euRef, ExecutionEnvRef: ee.replace(/\.$/, '') });
      if (du !== undefined) v.deviceSet(`${sm}DeploymentUnit.${du}.DUID`, String(du));
      ctx.keep(v);
      return result({ uuid, deploymentUnitRef: du === undefined ? '' : `${sm}DeploymentUnit.${du}`, version, currentState: 'Installed', executionUnitRefList: euRef });
    }
    case 'Update': {
      const du = findDu(v, op.uuid, op.version);
      if (du === undefined) return result({ uuid: op.uuid, fault: { code: 9028, message: 'Unknown Deployment Unit' } });
      const ref = `${sm}DeploymentUnit.${du}`;
      const url = op.url || v.get(`${ref}.URL`) || '';
      const f = await fetchUnit(ctx, url, op.username, op.password);
      v = ctx.view();
      const old = v.get(`${ref}.Version`) ?? '';
      if (f.code !== 0) return result({ uuid: op.uuid, deploymentUnitRef: ref, version: old, currentState: 'Installed', fault: f });
      const version = versionIn(url);
      if (version === old) return result({ uuid: op.uuid, deploymentUnitRef: ref, version: old, currentState: 'Installed', fault: { code: 9032, message: 'Invalid DU update: version already exists' } });
      v.deviceSet(`${ref}.Version`, version);
      v.deviceSet(`${ref}.URL`, url);
      const euList = v.get(`${ref}.ExecutionUnitList`) ?? '';
      for (const eu of euList.split(',').filter(Boolean)) v.deviceSet(`${eu}.Version`, version);
      ctx.keep(v);
      return result({ uuid: op.uuid, deploymentUnitRef: ref, version, currentState: 'Installed', executionUnitRefList: euList });
    }
    case 'Uninstall': {
      const du = findDu(v, op.uuid, op.version);
      if (du === undefined) return result({ uuid: op.uuid, fault: { code: 9028, message: 'Unknown Deployment Unit' } });
      const ref = `${sm}DeploymentUnit.${du}`;
      const version = v.get(`${ref}.Version`) ?? '';
      for (const eu of (v.get(`${ref}.ExecutionUnitList`) ?? '').split(',').filter(Boolean)) v.deviceDeleteRow(`${eu}.`);
      v.deviceDeleteRow(`${ref}.`);
      ctx.keep(v);
      return result({ uuid: op.uuid, deploymentUnitRef: ref, version, currentState: 'Uninstalled' });
    }
    default: {
      const never: never = op;
      return result({ fault: { code: 9002, message: `unknown operation ${JSON.stringify(never)}` } });
    }
  }
}
