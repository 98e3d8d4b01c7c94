// ProfileSpec -> immutable Template tree (ARCHITECTURE.md, "A CPE's state"): done once per shard.
import type { ObjectNode, ParamNode, SchemaNode, Template } from '../datamodel/schema.js';
import { checkLexical } from '../datamodel/values.js';
import { ProfileError } from '../util/errors.js';
import { hashString } from '../util/hash.js';
import { compileGenerator } from './generators.js';
import { compileTemplate } from './templates.js';
import type { ProfileSpec } from './types.js';

function newObject(name: string, path: string, parent: ObjectNode | undefined, multi: boolean): ObjectNode {
  return {
    kind: 'object',
    name,
    path,
    salt: hashString(path),
    multi,
    writable: false,
    instances: { min: 0, max: 0 },
    depth: (path.match(/\{i\}/g) ?? []).length,
    children: new Map(),
    childList: [],
    parent,
  };
}

function addChild(parent: ObjectNode, node: SchemaNode): void {
  parent.children.set(node.name, node);
  parent.childList.push(node);
}

/** Find or create the object for `segs` (schema segments, `{i}` marking rows). */
function ensureObject(root: ObjectNode, segs: string[], where: string): ObjectNode {
  let cur = root;
  let path = `${root.name}.`;
  for (let k = 1; k < segs.length; k++) {
    const seg = segs[k]!;
    if (seg === '{i}') {
      if (!cur.multi) {
        if (cur.childList.length > 0) throw new ProfileError(`${where}: ${path} is declared as a single object elsewhere but used as a table here`);
        cur.multi = true;
        cur.depth += 1;
        cur.path = `${path}{i}.`;
      }
      path += '{i}.';
      continue;
    }
    const next = segs[k + 1] === '{i}';
    let child = cur.children.get(seg);
    if (child && child.kind === 'param') throw new ProfileError(`${where}: ${path}${seg} is a parameter and an object`);
    if (!child) {
      child = newObject(seg, `${path}${seg}.`, cur, false);
      addChild(cur, child);
    }
    if (child.multi !== next && child.childList.length > 0) {
      throw new ProfileError(`${where}: ${path}${seg}. is declared both as a table and as a single object`);
    }
    cur = child;
    path += `${seg}.`;
  }
  return cur;
}

export function compileProfile(spec: ProfileSpec): Template {
  const root = newObject(spec.root, `${spec.root}.`, undefined, false);
  const forcedInform: ParamNode[] = [];
  let paramCount = 0;
  const declaredAs = new Map<ObjectNode, { table: boolean; where: string }>();
  for (const o of spec.objects) {
    const segs = o.path.slice(0, -1).split('.');
    const obj = ensureObject(root, segs, o.where);
    const table = o.instances !== undefined;
    const prev = declaredAs.get(obj);
    if (obj.multi !== table || (prev !== undefined && prev.table !== table)) {
      throw new ProfileError(`${o.where}: ${obj.path} is declared both as a table and as a single object${prev ? ` (also in ${prev.where})` : ''}`);
    }
    declaredAs.set(obj, { table, where: o.where });
    if (o.instances) {
      obj.instances = o.instances;
      obj.writable = o.writable;
    }
    for (const p of o.params) {
      const clash = obj.children.get(p.name);
      if (clash) throw new ProfileError(`${p.where}: ${clash.kind === 'object' ? `${obj.path}${p.name} is a parameter and an object` : `declared twice in ${obj.path}`}`);
      let value;
      try {
        value = compileTemplate(p.value, { tableDepth: obj.depth, pools: spec.pools });
      } catch (e) {
        throw new ProfileError(`${p.where}.value: ${(e as Error).message}`);
      }
      if (!p.value.includes('{{') && p.gen === undefined && p.value !== '') {
        const bad = checkLexical(p.type, p.value);
        if (bad) throw new ProfileError(`${p.where}.value: ${bad}`);
        if (p.enumValues && !p.enumValues.includes(p.value)) throw new ProfileError(`${p.where}.value: "${p.value}" is not one of its enum (${p.enumValues.join(', ')})`);
        if (p.range && (Number(p.value) < p.range[0] || Number(p.value) > p.range[1])) throw new ProfileError(`${p.where}.value: ${p.value} is outside its range [${p.range[0]}, ${p.range[1]}]`);
      }
      let gen;
      if (p.gen !== undefined) {
        try {
          gen = compileGenerator(p.gen, p.type, 'gen');
        } catch (e) {
          throw new ProfileError(`${p.where}.${(e as Error).message}`);
        }
      }
      const node: ParamNode = {
        kind: 'param',
        name: p.name,
        path: obj.path + p.name,
        salt: hashString(obj.path + p.name),
        type: p.type,
        writable: p.writable,
        hidden: p.hidden,
        forcedInform: p.forcedInform,
        notify: p.activeNotify === 'forceEnabled' ? 2 : p.notify,
        activeNotify: p.activeNotify,
        value,
        gen,
        enumValues: p.enumValues,
        range: p.range,
        maxLength: p.maxLength,
        counts: undefined,
      };
      addChild(obj, node);
      paramCount++;
      if (p.forcedInform) forcedInform.push(node);
    }
  }
  paramCount += linkEntryCounters(root);
  return { root, rootName: spec.root, forcedInform, paramCount };
}

/** Give every table's parent an XNumberOfEntries (TR-106 convention), declared or generated. */
function linkEntryCounters(obj: ObjectNode): number {
  let added = 0;
  for (const child of [...obj.childList]) {
    if (child.kind !== 'object') continue;
    added += linkEntryCounters(child);
    if (!child.multi) continue;
    const name = `${child.name}NumberOfEntries`;
    const existing = obj.children.get(name);
    if (existing && existing.kind === 'param') {
      existing.counts = child;
      continue;
    }
    const path = obj.path + name;
    addChild(obj, {
      kind: 'param',
      name,
      path,
      salt: hashString(path),
      type: 'unsignedInt',
      writable: false,
      hidden: false,
      forcedInform: false,
      notify: 0,
      activeNotify: 'normal',
      value: () => '0',
      gen: undefined,
      enumValues: undefined,
      range: undefined,
      maxLength: undefined,
      counts: child,
    });
    added++;
  }
  return added;
}
