// Turn a genieacs-sim style data-model dump (CSV: Parameter,Object,Writable,Value,Value type;
// DeviceID.* rows carry the Inform DeviceId) into a cpe-sim profile folder (docs/profiles.md).
//
//   node dist/scripts/import-csv.js <dump.csv> <outdir> [--name NAME] [--license FILE]
//
// Writes <outdir>/profile.yaml and <outdir>/model/<area>.yaml (old model/*.yaml are removed),
// and copies the dump's licence (--license, else <dump>.LICENSE or LICENSE beside the CSV)
// to <outdir>/LICENSE. Prints what it guessed and what the format could not express.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import YAML from 'yaml';

interface Row { path: string; isObject: boolean; writable: boolean; value: string; type: string }
interface Param { name: string; type: string; writable: boolean; values: Map<string, string> } // concrete parent -> value
interface SchemaObj { path: string; order: number; concretes: string[]; params: Map<string, Param>; tableWritable: boolean }
type Spec = string | Record<string, unknown>;

const XSD = new Set(['string', 'boolean', 'int', 'unsignedInt', 'long', 'unsignedLong', 'dateTime', 'base64', 'hexBinary']);
const COUNTER = /^(X_[A-Za-z0-9]+_)?(Total|Ethernet)?(Bytes|Packets|Errors|DiscardPackets|UnicastPackets|MulticastPackets|BroadcastPackets)(Sent|Received)(Drops|Errors?)?$/;
const SECRET = /(pass(word|phrase)|presharedkey|^wepkey|sharedsecret|pinphrase)$/i;
const MAC = /^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/;
const warnings: string[] = [];

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (quoted) {
      if (c === '"' && text[k + 1] === '"') { field += '"'; k++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[k + 1] === '\n') k++;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

const schemaOf = (p: string): string => p.split('.').map((s) => (/^\d+$/.test(s) ? '{i}' : s)).join('.');
const parentOf = (p: string): string => p.slice(0, p.slice(0, -1).lastIndexOf('.') + 1); // 'A.B.C.' -> 'A.B.'
const instOf = (p: string): number[] => p.split('.').filter((s) => /^\d+$/.test(s)).map(Number);
const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const kebab = (s: string): string =>
  s.replace(/QoS/g, 'Qos').replace(/WiMAX/g, 'Wimax').replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').replace(/_/g, '-').toLowerCase();

function main(argv: string[]): void {
  const pos = argv.filter((a, k) => !a.startsWith('--') && !(argv[k - 1] ?? '').startsWith('--'));
  const opt = (n: string): string | undefined => { const k = argv.indexOf(`--${n}`); return k >= 0 ? argv[k + 1] : undefined; };
  const [csvPath, outDir] = pos;
  if (!csvPath || !outDir) {
    console.error('usage: node dist/scripts/import-csv.js <dump.csv> <outdir> [--name NAME] [--license FILE]');
    process.exit(2);
  }
  const table = parseCsv(readFileSync(csvPath, 'utf8').replace(/^\uFEFF/, ''));
  const head = table.shift()?.map((h) => h.trim());
  if (head?.join(',') !== 'Parameter,Object,Writable,Value,Value type') throw new Error(`${csvPath}: unexpected header ${head?.join(',')}`);
  const rows: Row[] = table.map((r) => ({ path: r[0]!.trim(), isObject: r[1] === 'true', writable: r[2] === 'true', value: r[3] ?? '', type: (r[4] ?? '').replace(/^xsd:/, '') }));

  // ---- identity ----
  const dev = new Map(rows.filter((r) => r.path.startsWith('DeviceID.')).map((r) => [r.path.slice(9), r.value]));
  const body = rows.filter((r) => !r.path.startsWith('DeviceID.') && r.path !== '');
  const root = body[0]!.path.split('.')[0]!;
  const val = (p: string): string | undefined => body.find((r) => r.path === `${root}.${p}`)?.value;
  const serial = dev.get('SerialNumber') ?? val('DeviceInfo.SerialNumber') ?? 'SIM';
  const oui = (dev.get('OUI') ?? val('DeviceInfo.ManufacturerOUI') ?? '000000').toUpperCase();
  const productClass = dev.get('ProductClass') ?? val('DeviceInfo.ProductClass') ?? '';
  const identity = {
    manufacturer: dev.get('Manufacturer') ?? val('DeviceInfo.Manufacturer') ?? 'unknown',
    oui, productClass,
    modelName: val('DeviceInfo.ModelName') || productClass,
    serialPattern: `${serial.slice(0, 8)}{index:08}`,
    hardwareVersion: val('DeviceInfo.HardwareVersion') ?? '',
    softwareVersion: val('DeviceInfo.SoftwareVersion') ?? '',
  };
  const upTime = Number(val('DeviceInfo.UpTime')) || 86400;

  // Device MACs: colon-form values under the device's own OUI, numbered from the lowest.
  const macNum = (m: string): number => parseInt(m.replace(/:/g, ''), 16);
  const ownMacs = [...new Set(body.filter((r) => !r.isObject && MAC.test(r.value) && r.value.replace(/:/g, '').toUpperCase().startsWith(oui)).map((r) => r.value.toUpperCase()))];
  const macBase = Math.min(...ownMacs.map(macNum));
  const macK = (m: string): number => macNum(m) - macBase;

  // ---- concrete tree -> schema objects ----
  const objWritable = new Map<string, boolean>();
  const schema = new Map<string, SchemaObj>();
  let order = 0;
  const touch = (concrete: string): SchemaObj => {
    const sp = schemaOf(concrete);
    let o = schema.get(sp);
    if (!o) { o = { path: sp, order: order++, concretes: [], params: new Map(), tableWritable: false }; schema.set(sp, o); }
    if (!o.concretes.includes(concrete)) o.concretes.push(concrete);
    return o;
  };
  for (const r of body) {
    const segs = r.path.split('.');
    for (let k = 1; k < segs.length; k++) touch(`${segs.slice(0, k).join('.')}.`); // ancestors, listed or not
    if (r.isObject) { const p = `${r.path}.`; objWritable.set(p, r.writable); touch(p); continue; }
    const parent = r.path.slice(0, r.path.lastIndexOf('.') + 1);
    const name = r.path.slice(parent.length);
    const o = touch(parent);
    let type = r.type;
    if (!XSD.has(type)) { warnings.push(`${r.path}: type "${r.type}" read as string`); type = 'string'; }
    const p = o.params.get(name) ?? { name, type, writable: r.writable, values: new Map<string, string>() };
    p.values.set(parent, r.value);
    o.params.set(name, p);
  }
  // Every concrete object's ancestors exist; tables are objects whose children are numbered.
  const childrenOf = new Map<string, string[]>();
  for (const o of schema.values()) for (const c of o.concretes) { const par = parentOf(c); if (par) childrenOf.set(par, [...(childrenOf.get(par) ?? []), c]); }
  const isRowHolder = (sp: string): boolean => schema.has(`${sp}{i}.`);
  for (const [sp, o] of schema) {
    if (!sp.endsWith('{i}.')) continue;
    const holder = sp.slice(0, -4);
    schema.get(holder)!.tableWritable = o.concretes.some((c) => objWritable.get(parentOf(c)) === true);
  }
  // A writable object with no children anywhere is an empty table (AddObject allowed).
  for (const [sp, o] of [...schema]) {
    if (o.params.size > 0 || isRowHolder(sp) || sp.endsWith('{i}.')) continue;
    if ([...schema.keys()].some((k) => k !== sp && k.startsWith(sp))) continue;
    if (o.concretes.some((c) => objWritable.get(c) === true)) {
      schema.set(`${sp}{i}.`, { path: `${sp}{i}.`, order: o.order, concretes: [], params: new Map(), tableWritable: true });
      o.tableWritable = true;
    }
  }

  // ---- NumberOfEntries: drop those the loader generates, keep the rest ----
  const dropped: string[] = [], kept: string[] = [], added: string[] = [];
  for (const sp of schema.keys()) {
    if (!sp.endsWith('{i}.')) continue;
    const holder = sp.slice(0, -4), name = holder.slice(0, -1).split('.').pop()!;
    const parent = schema.get(parentOf(holder));
    if (parent?.params.delete(`${name}NumberOfEntries`)) dropped.push(`${parentOf(holder)}${name}NumberOfEntries`);
    else added.push(`${parentOf(holder)}${name}NumberOfEntries`);
  }
  for (const [sp, o] of schema) for (const n of o.params.keys()) if (n.endsWith('NumberOfEntries')) kept.push(sp + n);

  // ---- forced inform (TR-069 A.3.3.1; forcedInform in the TR-181 / TR-098 data-model XML) ----
  const forced = new Set((root === 'Device'
    ? ['RootDataModelVersion', 'DeviceInfo.HardwareVersion', 'DeviceInfo.SoftwareVersion', 'DeviceInfo.ProvisioningCode', 'ManagementServer.ParameterKey', 'ManagementServer.ConnectionRequestURL', 'ManagementServer.AliasBasedAddressing']
    : ['DeviceSummary', 'DeviceInfo.SpecVersion', 'DeviceInfo.HardwareVersion', 'DeviceInfo.SoftwareVersion', 'DeviceInfo.ProvisioningCode', 'ManagementServer.ParameterKey', 'ManagementServer.ConnectionRequestURL', 'ManagementServer.AliasBasedAddressing']).map((p) => `${root}.${p}`));
  let defaultConn = val('Layer3Forwarding.DefaultConnectionService');
  if (!defaultConn) defaultConn = body.find((r) => /\.WAN(IP|PPP)Connection\.\d+\.ExternalIPAddress$/.test(r.path))?.path.replace(/\.ExternalIPAddress$/, '');
  if (defaultConn) forced.add(`${schemaOf(defaultConn.replace(/\.$/, ''))}.ExternalIPAddress`);
  const wanAddr = (sp: string): boolean => /\.WAN(IP|PPP)Connection\.\{i\}\.ExternalIPAddress$/.test(sp);

  // ---- values ----
  const subst = (sp: string, name: string, v: string): string => {
    const full = sp + name;
    const di = `${root}.DeviceInfo.`;
    const byName: Record<string, string> = { SerialNumber: '{{serial}}', Manufacturer: '{{manufacturer}}', ManufacturerOUI: '{{oui}}', ProductClass: '{{productClass}}', ModelName: '{{modelName}}', HardwareVersion: '{{hardwareVersion}}', SoftwareVersion: '{{softwareVersion}}' };
    if (sp === di && byName[name]) return byName[name]!;
    if (sp === `${root}.ManagementServer.`) {
      if (name === 'URL') return '{{acsUrl}}'; // docs/profiles.md: the fleet's --acs-url is the default
      if (name === 'Username') return '{{acsUsername}}';
      if (name === 'Password') return '{{acsPassword}}';
      if (name === 'ConnectionRequestURL') return '{{crUrl}}';
      if (name === 'ConnectionRequestUsername') return v.startsWith(`${oui}-${productClass}-`) ? '{{oui}}-{{productClass}}-{{serial}}' : '{{serial}}';
      if (name === 'ConnectionRequestPassword') return `{{hex(${Math.max(8, v.length)})}}`;
    }
    if (wanAddr(full) && v !== '') return '{{ipv4(wan, 0)}}';
    if (v === serial) return '{{serial}}';
    if (MAC.test(v) && ownMacs.includes(v.toUpperCase())) return `{{mac(${macK(v.toUpperCase())})}}`;
    for (const m of ownMacs) {
      const compact = m.replace(/:/g, '');
      if (v.toUpperCase().includes(compact)) { warnings.push(`${full}: "${v}" embeds the device MAC without colons; replaced by {{serial}} (no colon-less MAC template)`); return v.replace(new RegExp(compact, 'i'), '{{serial}}'); }
    }
    if (v.includes('{{') || v.includes('}}')) throw new Error(`${full}: value ${JSON.stringify(v)} contains "{{" or "}}", which the profile format cannot escape`);
    return v;
  };

  const model = new Map<string, Map<string, Record<string, unknown>>>(); // file -> path -> body
  let nParams = 0, nGen = 0;
  for (const o of [...schema.values()].sort((a, b) => a.order - b.order)) {
    const sp = o.path;
    const isTable = sp.endsWith('{i}.');
    const depth = (sp.match(/\{i\}/g) ?? []).length;
    // Representative rows: the group (same outer rows) with the most members.
    const groups = new Map<string, string[]>();
    for (const c of o.concretes) { const k = instOf(c).slice(0, -1).join('.'); groups.set(k, [...(groups.get(k) ?? []), c]); }
    const rowsOf = [...groups.values()].sort((a, b) => b.length - a.length)[0] ?? [];
    rowsOf.sort((a, b) => (instOf(a).at(-1) ?? 0) - (instOf(b).at(-1) ?? 0));
    const objBody: Record<string, unknown> = {};
    if (isTable) {
      const holders = schema.get(sp.slice(0, -4))!.concretes;
      const counts = holders.map((h) => (childrenOf.get(h) ?? []).filter((c) => /\.\d+\.$/.test(c)).length);
      const min = Math.min(...counts), max = Math.max(...counts);
      objBody['instances'] = min === max ? min : { min, max };
      if (min !== max) warnings.push(`${sp}: ${counts.join('/')} rows under the ${holders.length} parent rows; written as {min: ${min}, max: ${max}} (drawn per parent row), values from the fullest parent`);
      const nums = rowsOf.map((c) => instOf(c).at(-1)!);
      if (nums.some((n, k) => n !== k + 1)) warnings.push(`${sp}: instance numbers ${nums.join(',')} renumbered 1..${nums.length} (the format cannot keep instance numbers)`);
      if (o.tableWritable || schema.get(sp.slice(0, -4))!.tableWritable) objBody['access'] = 'W';
    } else if (o.concretes.some((c) => objWritable.get(c)) && o.params.size > 0) {
      warnings.push(`${sp}: the dump marks this single object writable; only tables can be (ignored)`);
    }
    if (o.params.size === 0 && !isTable && [...schema.keys()].some((k) => k !== sp && k.startsWith(sp))) continue; // implicit parent
    const params: Record<string, Spec> = {};
    for (const p of o.params.values()) {
      const full = sp + p.name;
      const fallback = [...p.values.values()][0] ?? '';
      const raw = (depth === 0 ? [fallback] : rowsOf.map((c) => p.values.get(c) ?? fallback));
      if (depth > 0 && rowsOf.some((c) => !p.values.has(c))) warnings.push(`${full}: missing in some rows; those rows take ${JSON.stringify(fallback)}`);
      const vals = raw.map((v) => subst(sp, p.name, v));
      let value = vals[0] ?? '';
      if (new Set(vals).size > 1) value = collapse(vals, full);
      const spec: Record<string, unknown> = { type: p.type };
      if (p.writable) spec['access'] = 'W';
      const numeric = ['int', 'unsignedInt', 'long', 'unsignedLong'].includes(p.type);
      if (/^(UpTime|Uptime)$/.test(p.name) && numeric) { spec['gen'] = 'uptime'; spec['activeNotify'] = 'canDeny'; }
      else if (p.name === 'CurrentLocalTime' && p.type === 'dateTime') { spec['gen'] = 'clock'; spec['activeNotify'] = 'canDeny'; }
      else if (numeric && COUNTER.test(p.name) && !p.writable && raw.some((v) => Number(v) > 0)) {
        const mean = raw.reduce((a, v) => a + (Number(v) || 0), 0) / raw.length;
        spec['gen'] = { counter: { rate: Number((mean / upTime).toPrecision(3)), spread: 0.5 } };
        spec['activeNotify'] = 'canDeny';
      }
      if (spec['gen'] === undefined) spec['value'] = value; else nGen++;
      if (forced.has(full)) spec['forcedInform'] = true;
      if (full === `${root}.DeviceInfo.SoftwareVersion` || full === `${root}.DeviceInfo.ProvisioningCode`) spec['activeNotify'] = 'forceEnabled';
      if (full === `${root}.ManagementServer.ConnectionRequestURL`) { spec['notify'] = 2; spec['activeNotify'] = 'forceDefaultEnabled'; }
      if (p.writable && SECRET.test(p.name)) spec['hidden'] = true;
      const long = Object.keys(spec).some((k) => !['type', 'access', 'value'].includes(k)) || value !== value.trim() || value.includes('\n');
      params[p.name] = long ? spec : `${p.type} ${p.writable ? 'W' : 'R'}${value === '' ? '' : ` ${value}`}`;
      nParams++;
    }
    if (Object.keys(params).length > 0) objBody['params'] = params;
    const area = sp.split('.')[1];
    const file = area ? kebab(area) : 'root';
    if (!model.has(file)) model.set(file, new Map());
    model.get(file)!.set(sp, objBody);
  }

  // ---- write ----
  mkdirSync(join(outDir, 'model'), { recursive: true });
  for (const f of readdirSync(join(outDir, 'model'))) if (f.endsWith('.yaml')) rmSync(join(outDir, 'model', f));
  const src = basename(csvPath);
  for (const [file, objs] of model) {
    const doc = new YAML.Document({});
    doc.commentBefore = ` Generated by scripts/import-csv.ts from ${src}; regenerate rather than edit.`;
    const top = doc.contents as YAML.YAMLMap;
    let first = true;
    for (const [path, b] of objs) {
      const node = doc.createNode(b) as YAML.YAMLMap;
      // block style down to each parameter; a long-form parameter and {min, max} on one line
      YAML.visit(node, {
        Map(_k, m, vpath) {
          const pair = vpath.at(-1);
          const isInstances = YAML.isPair(pair) && YAML.isScalar(pair.key) && pair.key.value === 'instances';
          if (vpath.length >= 4 || isInstances) m.flow = true;
        },
      });
      const key = doc.createNode(path) as YAML.Scalar;
      if (!first) key.spaceBefore = true;
      first = false;
      top.items.push(new YAML.Pair(key, node));
    }
    writeFileSync(join(outDir, 'model', `${file}.yaml`), doc.toString({ lineWidth: 0 }));
  }
  const lanIp = val('LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceIPAddress');
  const lanCidr = lanIp && /^\d+\.\d+\.\d+\.\d+$/.test(lanIp) ? `${lanIp.split('.').slice(0, 3).join('.')}.0/24` : '192.168.1.0/24';
  const firstOctet = (ownMacs.length ? Math.floor(macBase / 2 ** 40) : 0) | 0x02; // locally administered
  const macPerCpe = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(1, ...ownMacs.map((m) => macK(m) + 1)))));
  const profile = {
    name: opt('name') ?? basename(outDir),
    root,
    identity,
    pools: {
      mac: { base: `${firstOctet.toString(16).toUpperCase().padStart(2, '0')}:${oui.slice(2, 4)}:${oui.slice(4, 6)}:00:00:00`, perCpe: macPerCpe },
      ipv4: { wan: { cidr: '100.64.0.0/10', perCpe: 1 }, lan: { cidr: lanCidr, perCpe: 0 } },
    },
    ...(val('ManagementServer.PeriodicInformInterval') ? { settings: { periodicInformInterval: Number(val('ManagementServer.PeriodicInformInterval')) } } : {}),
  };
  const pdoc = new YAML.Document(profile);
  pdoc.commentBefore = ` Generated by scripts/import-csv.ts from ${src}.\n Device MACs were ${[...ownMacs].sort().join(', ') || 'none'}: mac(k) counts from the lowest;\n the pool base keeps the OUI's last bytes with the locally-administered bit set.`;
  YAML.visit(pdoc, { Map(_k, m, vpath) { if (vpath.length >= 5 && m.items.every((it) => YAML.isScalar(it.value))) m.flow = true; } });
  writeFileSync(join(outDir, 'profile.yaml'), pdoc.toString({ lineWidth: 0 }));
  const lic = opt('license') ?? [csvPath.replace(/\.csv$/i, '.LICENSE'), join(dirname(csvPath), 'LICENSE')].find((p) => existsSync(p));
  if (lic) copyFileSync(lic, join(outDir, 'LICENSE'));
  else warnings.push('no licence file found beside the CSV (use --license)');

  const nObjects = [...model.values()].reduce((a, m) => a + m.size, 0);
  console.log(`${outDir}: root ${root}, ${nObjects} objects, ${nParams} parameters (${nGen} with a generator), files: ${[...model.keys()].sort().join(', ')}`);
  console.log(`NumberOfEntries left to the loader (${dropped.length}): ${dropped.join(', ')}`);
  console.log(`NumberOfEntries kept as plain parameters, name off the XNumberOfEntries convention (${kept.length}): ${kept.join(', ')}`);
  console.log(`counters the loader will add that the dump lacks (${added.length}): ${added.join(', ')}`);
  for (const w of warnings) console.log(`note: ${w}`);
}

/** Several rows with different values: `{{i}}` where only the row number differs, else pick. */
function collapse(vals: string[], where: string): string {
  if (vals.every((v, k) => v === String(k + 1))) return '{{i}}';
  const toks = vals.map((v) => v.split('.'));
  const n = toks[0]!.length;
  if (toks.every((t) => t.length === n)) {
    for (let j = n - 1; j >= 0; j--) {
      if (toks.every((t, k) => t[j] === String(k + 1)) && toks.every((t) => t.every((x, q) => q === j || x === toks[0]![q]))) {
        return toks[0]!.map((x, q) => (q === j ? '{{i}}' : x)).join('.');
      }
    }
  }
  if (vals.some((v) => v.includes('{{'))) {
    // A whole-value template becomes a pick item as an expression (the loader takes those).
    const items = vals.map((v) => /^\{\{[^{}]*\}\}$/.test(v) ? v.slice(2, -2) : v.includes('{{') ? undefined : quote(v));
    if (items.every((x) => x !== undefined)) return `{{pick(i, ${items.join(', ')})}}`;
    warnings.push(`${where}: rows differ in partly templated values (${vals.join(' | ')}); every row gets ${vals[0]}`);
    return vals[0]!;
  }
  return `{{pick(i, ${vals.map(quote).join(', ')})}}`;
}

main(process.argv.slice(2));
