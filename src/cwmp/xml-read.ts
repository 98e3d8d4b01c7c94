// One pass over a SOAP envelope: checks that it is well-formed XML (XML 1.0, fifth edition)
// and builds the element tree at once, in the shape the codec reads (soap-elements.ts): an
// element is an array entry under its qualified name in its parent; a leaf without attributes
// is its text; anything else an object of child arrays, "@_name" attributes and "#text".
//
// Checking and building in one pass replaces a validator pass followed by a parser pass: a
// simulated CPE parses every ACS reply, and for the many small ones (an InformResponse, an
// empty 204 aside) the two passes were a tenth of a session's CPU. What is refused, with its
// line and column: a tag that is not closed or closed out of order, a name that is not an
// XML Name (section 2.3), an attribute without a quoted value or given twice (section 3.1),
// an "&" that does not start a character or entity reference (section 4.1), text outside the
// root element, an XML declaration anywhere but at the start (section 2.8), an unclosed
// comment or CDATA section, a malformed XML declaration, a DOCTYPE or any other processing
// instruction (SOAP 1.1 section 3 allows neither) and
// nesting deeper than MAX_DEPTH. Entity references decode to the five predefined entities
// and character references; any other reference stays as written (no DTD declares one).
import type { XNode } from './soap-elements.js';

/** Elements nested deeper than this are refused: no SOAP message needs more. */
export const MAX_DEPTH = 256;

export interface XmlError {
  line: number;
  col: number;
  msg: string;
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ENTITY_REF = /&(?:#(\d+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));/g;
/** A reference as section 4.1 writes it: &name; &#digits; &#xhex;. */
const REFERENCE = /&(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z_]\w{0,19});/y;

// XML 1.0 productions [4] NameStartChar and [4a] NameChar (the BMP part).
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const NAME_REST = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
/** XML 1.0 production [23] XMLDecl: version, then optionally encoding and standalone. */
const XML_DECL = /^<\?xml\s+version\s*=\s*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:\s+encoding\s*=\s*(?:"[A-Za-z][\w.-]*"|'[A-Za-z][\w.-]*'))?(?:\s+standalone\s*=\s*(?:"(?:yes|no)"|'(?:yes|no)'))?\s*\?>$/;
/** A Name at the cursor (sticky). */
const NAME = new RegExp(`[${NAME_START}][${NAME_REST}]*`, 'y');

/** XML 1.0 section 4.6 predefined entities and section 4.1 character references. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY_REF, (ref, dec: string | undefined, hex: string | undefined, named: string | undefined) => {
    if (named !== undefined) return XML_ENTITIES[named]!;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : ref;
  });
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

interface Frame {
  name: string;
  /** Where the start tag began (for "not closed" messages). */
  at: number;
  /** Children and attributes; undefined while the element has neither. */
  obj: Record<string, unknown> | undefined;
  text: string;
}

class Fail {
  constructor(
    readonly at: number,
    readonly msg: string,
  ) {}
}

/** Parse `s` (BOM and outer space already trimmed). The tree, or where and why it is not well-formed. */
export function readXml(s: string): { doc: XNode } | { error: XmlError } {
  try {
    return { doc: parse(s) };
  } catch (e) {
    if (e instanceof Fail) return { error: { ...position(s, e.at), msg: e.msg } };
    throw e;
  }
}

function position(s: string, at: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = s.indexOf('\n'); i >= 0 && i < at; i = s.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: at - lineStart + 1 };
}

/** Check the references in a piece of text or an attribute value and decode it. */
function textOf(s: string, from: number, to: number): string {
  const raw = s.slice(from, to);
  let amp = raw.indexOf('&');
  if (amp < 0) return raw;
  while (amp >= 0) {
    REFERENCE.lastIndex = amp;
    if (!REFERENCE.test(raw)) throw new Fail(from + amp, "'&' does not start a reference (escape it as &amp;)");
    amp = raw.indexOf('&', REFERENCE.lastIndex);
  }
  return decodeEntities(raw);
}

function addChild(parent: Frame | undefined, root: Record<string, unknown>, name: string, value: unknown): void {
  const obj = parent ? (parent.obj ??= Object.create(null) as Record<string, unknown>) : root;
  const list = obj[name] as unknown[] | undefined;
  if (list) list.push(value);
  else obj[name] = [value];
}

function parse(s: string): XNode {
  // No prototypes: an element named constructor or __proto__ is just an element.
  const root = Object.create(null) as Record<string, unknown>;
  const stack: Frame[] = [];
  let top: Frame | undefined;
  let rootDone = false;
  let rootSeen = false;
  const n = s.length;
  let i = 0;
  while (i < n) {
    const lt = s.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      if (top) {
        const t = textOf(s, i, textEnd);
        top.text = top.text === '' ? t : top.text + t;
      } else {
        for (let k = i; k < textEnd; k++) if (!isSpace(s.charCodeAt(k))) throw new Fail(k, rootSeen ? 'text after the root element' : 'text before the root element');
      }
    }
    if (lt < 0) break;
    i = lt;
    const c = s.charCodeAt(i + 1);
    if (c === 0x3f /* ? */) {
      // The XML declaration, at the very start only (section 2.8); SOAP 1.1 section 3 allows
      // no other processing instruction.
      const end = s.indexOf('?>', i + 2);
      if (end < 0) throw new Fail(i, 'processing instruction not closed');
      const pi = s.slice(i, end + 2);
      if (!/^<\?xml[\s?]/.test(pi)) throw new Fail(i, 'a processing instruction is not allowed in a SOAP message (SOAP 1.1 section 3)');
      if (i !== 0) throw new Fail(i, 'XML declaration allowed only at the start of the document');
      if (!XML_DECL.test(pi)) throw new Fail(i, 'malformed XML declaration');
      i = end + 2;
      continue;
    }
    if (c === 0x21 /* ! */) {
      if (s.startsWith('<!--', i)) {
        const end = s.indexOf('-->', i + 4);
        if (end < 0) throw new Fail(i, 'comment not closed');
        i = end + 3;
        continue;
      }
      if (s.startsWith('<![CDATA[', i)) {
        if (!top) throw new Fail(i, 'CDATA section outside the root element');
        const end = s.indexOf(']]>', i + 9);
        if (end < 0) throw new Fail(i, 'CDATA section not closed');
        top.text += s.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      throw new Fail(i, s.startsWith('<!DOCTYPE', i) ? 'a Document Type Declaration is not allowed in a SOAP message (SOAP 1.1 section 3)' : "'<!' starts neither a comment nor a CDATA section");
    }
    if (c === 0x2f /* / */) {
      // An end tag: </Name S?>
      NAME.lastIndex = i + 2;
      if (!NAME.test(s)) throw new Fail(i + 2, 'end tag without a valid name');
      const name = s.slice(i + 2, NAME.lastIndex);
      let k = NAME.lastIndex;
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      if (s.charCodeAt(k) !== 0x3e) throw new Fail(k, `end tag '${name}' not closed by '>'`);
      if (!top) throw new Fail(i, `end tag '${name}' has no start tag`);
      if (top.name !== name) {
        const p = position(s, top.at);
        throw new Fail(i, `expected the end tag of '${top.name}' (opened at ${p.line}:${p.col}) instead of '${name}'`);
      }
      stack.pop();
      const done = top;
      top = stack[stack.length - 1];
      closeElement(done, top, root);
      if (!top) rootDone = true;
      i = k + 1;
      continue;
    }
    // A start tag: <Name (S Attribute)* S? /?>
    NAME.lastIndex = i + 1;
    if (!NAME.test(s)) throw new Fail(i + 1, isSpace(c) ? "space after '<'" : "'<' does not start a valid tag name");
    const name = s.slice(i + 1, NAME.lastIndex);
    if (rootDone) throw new Fail(i, `a second root element '${name}'`);
    const frame: Frame = { name, at: i, obj: undefined, text: '' };
    let k = NAME.lastIndex;
    let selfClosing = false;
    for (;;) {
      const spaced = k < n && isSpace(s.charCodeAt(k));
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      if (k >= n) throw new Fail(i, `start tag '${name}' not closed`);
      const ch = s.charCodeAt(k);
      if (ch === 0x3e /* > */) {
        k++;
        break;
      }
      if (ch === 0x2f /* / */) {
        if (s.charCodeAt(k + 1) !== 0x3e) throw new Fail(k, `'/' not followed by '>' in the start tag '${name}'`);
        selfClosing = true;
        k += 2;
        break;
      }
      if (!spaced) throw new Fail(k, `attribute of '${name}' without a space before it`);
      NAME.lastIndex = k;
      if (!NAME.test(s)) throw new Fail(k, `attribute of '${name}' without a valid name`);
      const attrName = s.slice(k, NAME.lastIndex);
      k = NAME.lastIndex;
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      if (s.charCodeAt(k) !== 0x3d /* = */) throw new Fail(k, `attribute '${attrName}' without a value`);
      k++;
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      const quote = s.charCodeAt(k);
      if (quote !== 0x22 && quote !== 0x27) throw new Fail(k, `value of attribute '${attrName}' not quoted`);
      const close = s.indexOf(quote === 0x22 ? '"' : "'", k + 1);
      if (close < 0) throw new Fail(k, `value of attribute '${attrName}' not closed`);
      const value = textOf(s, k + 1, close);
      const obj = (frame.obj ??= Object.create(null) as Record<string, unknown>);
      const key = `@_${attrName}`;
      if (key in obj) throw new Fail(k, `attribute '${attrName}' given twice`);
      obj[key] = value;
      k = close + 1;
    }
    rootSeen = true;
    if (stack.length >= MAX_DEPTH) throw new Fail(i, `elements nested deeper than ${MAX_DEPTH}`);
    if (selfClosing) {
      closeElement(frame, top, root);
      if (!top) rootDone = true;
    } else {
      stack.push(frame);
      top = frame;
    }
    i = k;
  }
  if (top) {
    const p = top.at;
    throw new Fail(p, `'${top.name}' not closed`);
  }
  if (!rootSeen) throw new Fail(0, 'no root element');
  return root;
}

/** The element's value in its parent: its text when it is a bare leaf, else its object. */
function closeElement(f: Frame, parent: Frame | undefined, root: Record<string, unknown>): void {
  let value: unknown;
  if (f.obj === undefined) value = f.text;
  else {
    if (f.text !== '') f.obj['#text'] = f.text;
    value = f.obj;
  }
  addChild(parent, root, f.name, value);
}
