// The SOAP codec's element helpers, shared by both halves of each direction (soap-parse.ts
// and soap-parse-transfers.ts read with the first part, soap-build.ts and
// soap-build-transfers.ts write with the second). A leaf: imports nothing of the codec.
//
// Elements are matched by local name whatever their prefix: real ACSs write soap-env,
// SOAP-ENV, soapenv, s, env or no prefix at all, and the reader (xml-read.ts) keeps
// prefixes as literal keys.

// ---- reading: elements as xml-read.ts builds them (fast-xml-parser's shape) ----

/** An element as xml-read.ts builds it: text only, or children/attributes/#text. */
export type XNode = string | { [key: string]: unknown };

/** A known RPC whose arguments we cannot read; turned into 'Invalid' (9003) or a warning. */
export class ArgError extends Error {}

export const localName = (key: string): string => key.slice(key.indexOf(':') + 1);
export const prefixOf = (key: string): string => (key.includes(':') ? key.slice(0, key.indexOf(':')) : '');
export const isElementKey = (key: string): boolean => key !== '#text' && !key.startsWith('@_') && !key.startsWith('?');

/** Child elements named `name` (any prefix), in document order. */
export function kids(node: XNode | undefined, name: string): XNode[] {
  if (node === undefined || typeof node === 'string') return [];
  let out: XNode[] = [];
  for (const key in node) {
    if (isElementKey(key) && localName(key) === name) out = out.concat(node[key] as XNode[]);
  }
  return out;
}

export const kid = (node: XNode | undefined, name: string): XNode | undefined => kids(node, name)[0];

/** All child elements as [key, node], whatever their names. */
export function elements(node: XNode | undefined): Array<[string, XNode]> {
  const out: Array<[string, XNode]> = [];
  if (node === undefined || typeof node === 'string') return out;
  for (const key in node) {
    if (isElementKey(key)) for (const child of node[key] as XNode[]) out.push([key, child]);
  }
  return out;
}

/** Text content exactly as sent; "" for an empty element. */
export function text(node: XNode): string {
  if (typeof node === 'string') return node;
  const t = node['#text'];
  return typeof t === 'string' ? t : '';
}

/** Attribute by local name (`xsi:type`, `type`, ...); namespace declarations excluded. */
export function attr(node: XNode, name: string): string | undefined {
  if (typeof node === 'string') return undefined;
  for (const key in node) {
    if (key.startsWith('@_') && !key.startsWith('@_xmlns') && localName(key.slice(2)) === name) return String(node[key]);
  }
  return undefined;
}

/** The namespace URI a prefix is bound to, looking from the innermost node outwards. */
export function resolvePrefix(prefix: string, scopes: XNode[]): string | undefined {
  const key = prefix === '' ? '@_xmlns' : `@_xmlns:${prefix}`;
  for (let i = scopes.length - 1; i >= 0; i--) {
    const node = scopes[i];
    if (node !== undefined && typeof node !== 'string' && typeof node[key] === 'string') return node[key];
  }
  return undefined;
}

export function req(node: XNode, name: string): XNode {
  const child = kid(node, name);
  if (child === undefined) throw new ArgError(`missing ${name}`);
  return child;
}
export const reqText = (node: XNode, name: string): string => text(req(node, name));
export const optText = (node: XNode, name: string): string => {
  const child = kid(node, name);
  return child === undefined ? '' : text(child);
};

/** xsd:boolean lexical forms (XML Schema 3.2.2): true, false, 1, 0. */
export function parseBool(raw: string, what: string): boolean {
  const t = raw.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new ArgError(`${what} is not a boolean: "${raw}"`);
}
export const reqBool = (node: XNode, name: string): boolean => parseBool(reqText(node, name), name);

export function reqUInt(node: XNode, name: string): number {
  const t = reqText(node, name).trim();
  // xsd:unsignedInt is 0..4294967295
  if (!/^\d+$/.test(t) || Number(t) > 0xffffffff) throw new ArgError(`${name} is not an unsigned integer: "${t}"`);
  return Number(t);
}

/** Items of an array-typed element, whatever the item element is called. */
export const items = (list: XNode): XNode[] => elements(list).map(([, n]) => n);
export const reqStrings = (node: XNode, name: string): string[] => items(req(node, name)).map(text);

export function parseStatus(node: XNode): 0 | 1 {
  const s = reqUInt(node, 'Status');
  if (s !== 0 && s !== 1) throw new ArgError(`Status must be 0 or 1, got ${s}`);
  return s;
}

// ---- writing ----

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const NEEDS_ESCAPE = /[&<>"']/;
const ESCAPE_ALL = /[&<>"']/g;

/** Escape text for element content and attribute values alike. */
export function escapeXml(s: string): string {
  // Most values need no escaping: test first, skip the replace allocation.
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c]!) : s;
}

/** xsd:boolean as written: true or false. */
export const bool = (b: boolean): string => (b ? 'true' : 'false');

/** `<tag>value</tag>` with the value escaped. */
export const el = (tag: string, value: string): string => `<${tag}>${escapeXml(value)}</${tag}>`;
