// Unique keys of tables (TR-106 uniqueKey, TR-181 Device:2): what Add checks for 7025,
// what ObjectCreation, AddResp and GetInstances report, and GetSupportedDM's
// unique_key_sets. A small built-in list for the tables this simulator models; any other
// table with an Alias parameter is keyed by Alias (every TR-181 table with an Alias has
// it as a unique key), the rest have none.
import type { ObjectNode } from '../datamodel/schema.js';
import type { CpeView } from '../datamodel/view.js';
import type { StrMap } from './types.js';

/** Key sets by schema table path; each inner list is one key (all its params together). */
const BUILT_IN: ReadonlyMap<string, readonly (readonly string[])[]> = new Map([
  // TR-181 Device.LocalAgent.Subscription.{i}: a subscription is unique per (Recipient, ID).
  ['Device.LocalAgent.Subscription.{i}.', [['Recipient', 'ID'], ['Alias']]],
  ['Device.LocalAgent.Controller.{i}.', [['EndpointID'], ['Alias']]],
  ['Device.LocalAgent.Controller.{i}.MTP.{i}.', [['Protocol'], ['Alias']]],
  ['Device.LocalAgent.Controller.{i}.BootParameter.{i}.', [['ParameterName'], ['Alias']]],
  ['Device.LocalAgent.MTP.{i}.', [['Alias']]],
  ['Device.IP.Interface.{i}.', [['Name'], ['Alias']]],
  ['Device.Ethernet.Interface.{i}.', [['Name'], ['Alias']]],
  ['Device.Ethernet.Link.{i}.', [['Name'], ['Alias']]],
  ['Device.WiFi.Radio.{i}.', [['Name'], ['Alias']]],
  ['Device.WiFi.SSID.{i}.', [['Name'], ['Alias'], ['BSSID']]],
  ['Device.WiFi.AccessPoint.{i}.', [['SSIDReference'], ['Alias']]],
  ['Device.NAT.PortMapping.{i}.', [['RemoteHost', 'ExternalPort', 'Protocol'], ['Alias']]],
  ['Device.MQTT.Client.{i}.', [['Name'], ['Alias']]],
  ['Device.Hosts.Host.{i}.', [['PhysAddress'], ['Alias']]],
  ['Device.DNS.Client.Server.{i}.', [['DNSServer'], ['Alias']]],
  ['Device.ManagementServer.InformParameter.{i}.', [['ParameterName'], ['Alias']]],
  ['Device.DHCPv4.Client.{i}.ReqOption.{i}.', [['Tag'], ['Alias']]],
  ['Device.DHCPv4.Server.Pool.{i}.StaticAddress.{i}.', [['Chaddr'], ['Alias']]],
]);

const hasParam = (table: ObjectNode, name: string): boolean => table.children.get(name)?.kind === 'param';

/** The key sets of a table; only sets whose every parameter the profile models. */
export function uniqueKeySets(table: ObjectNode): string[][] {
  if (!table.multi) return [];
  const known = BUILT_IN.get(table.path);
  if (known) return known.filter((set) => set.every((n) => hasParam(table, n))).map((set) => [...set]);
  return hasParam(table, 'Alias') ? [['Alias']] : [];
}

/** Every parameter that is part of some key, once, in key-set order. */
export function uniqueKeyParams(table: ObjectNode): string[] {
  return [...new Set(uniqueKeySets(table).flat())];
}

/**
 * The key values of row `rowPath` (ends in '.', instance numbers `inst`), as a Controller
 * reads them (TR-369 R-ADD.5, R-GIN.1: hidden values read as ""). `read` overrides the
 * stored value, for a row being validated before it is written.
 */
export function uniqueKeysOf(view: CpeView, table: ObjectNode, rowPath: string, inst: readonly number[], read?: (name: string) => string | undefined): StrMap {
  return keyValues(view, table, rowPath, inst, read, true);
}

/** The real key values, for uniqueness checks. */
export function keyValuesOf(view: CpeView, table: ObjectNode, rowPath: string, inst: readonly number[], read?: (name: string) => string | undefined): StrMap {
  return keyValues(view, table, rowPath, inst, read, false);
}

function keyValues(view: CpeView, table: ObjectNode, rowPath: string, inst: readonly number[], read: ((name: string) => string | undefined) | undefined, wire: boolean): StrMap {
  const out: StrMap = {};
  for (const name of uniqueKeyParams(table)) {
    const p = table.children.get(name);
    if (p?.kind !== 'param') continue;
    out[name] = wire && p.hidden ? '' : (read?.(name) ?? view.rawValue(p, rowPath + name, inst));
  }
  return out;
}

/**
 * The first key set on which `candidate` (name -> value) equals another row's values,
 * or undefined. TR-369 7025: a row must not be created, nor its keys set, to values
 * another row already has.
 */
export function keyConflict(table: ObjectNode, candidate: StrMap, others: readonly StrMap[]): string[] | undefined {
  for (const set of uniqueKeySets(table)) {
    if (others.some((o) => set.every((n) => o[n] === candidate[n]))) return set;
  }
  return undefined;
}
