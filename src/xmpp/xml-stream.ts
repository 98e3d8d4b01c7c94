// An XMPP stream read incrementally (RFC 6120 4, 11): the stream header, then one
// complete first-level element (a stanza, features, SASL or TLS element) at a time, then
// the stream's end. XMPP uses a restricted XML (RFC 6120 11.1): no comments, processing
// instructions (the XML declaration aside) or DTDs; this reader refuses them as the RFC
// asks (stream error <restricted-xml/>). It keeps only the unparsed tail of the input
// and the element being built, so an idle stream costs nothing but its buffers.

export interface XmlEl {
  /** The name as written (prefix included, e.g. "stream:features"). */
  name: string;
  attrs: Record<string, string>;
  children: XmlEl[];
  /** Character data directly inside this element, entities decoded. */
  text: string;
}

export interface XmlStreamHandlers {
  open(attrs: Record<string, string>): void;
  element(el: XmlEl): void;
  close(): void;
  /** The input is not the XML an XMPP stream may carry; reading stops. */
  error(condition: 'restricted-xml' | 'not-well-formed' | 'policy-violation', why: string): void;
}

/** Largest first-level element (and unparsed tail) accepted: a stanza past it ends the stream. */
export const MAX_ELEMENT_CHARS = 256 * 1024;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decode the predefined entities and character references; undefined when one is not well-formed. */
export function decodeXml(s: string): string | undefined {
  if (!s.includes('&')) return s;
  let bad = false;
  const out = s.replace(/&([^;&]*);?/g, (m, ref: string) => {
    if (!m.endsWith(';')) {
      bad = true;
      return m;
    }
    if (ref.startsWith('#x')) {
      const n = parseInt(ref.slice(2), 16);
      if (!/^#x[0-9a-fA-F]+$/.test(ref) || n > 0x10ffff) bad = true;
      return bad ? m : String.fromCodePoint(n);
    }
    if (ref.startsWith('#')) {
      const n = Number(ref.slice(1));
      if (!/^#[0-9]+$/.test(ref) || n > 0x10ffff) bad = true;
      return bad ? m : String.fromCodePoint(n);
    }
    const v = ENTITIES[ref];
    if (v === undefined) bad = true;
    return v ?? m;
  });
  return bad ? undefined : out;
}

/** Escape text or an attribute value for the wire. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/** An element written back out (attributes in insertion order). */
export function serialize(el: XmlEl): string {
  let s = `<${el.name}`;
  for (const [k, v] of Object.entries(el.attrs)) s += ` ${k}="${escapeXml(v)}"`;
  if (el.children.length === 0 && el.text === '') return `${s}/>`;
  s += '>' + escapeXml(el.text);
  for (const c of el.children) s += serialize(c);
  return `${s}</${el.name}>`;
}

/** The local part of a possibly prefixed name. */
export const localName = (name: string): string => name.slice(name.indexOf(':') + 1);

/** First child with this local name (and namespace, when given: the child's own xmlns). */
export function child(el: XmlEl, local: string, ns?: string): XmlEl | undefined {
  return el.children.find((c) => localName(c.name) === local && (ns === undefined || c.attrs['xmlns'] === ns));
}

const ATTR = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

export class XmlStream {
  private buf = '';
  /** Elements open inside the current first-level element, outermost first. */
  private stack: XmlEl[] = [];
  private opened = false;
  private done = false;

  constructor(private readonly h: XmlStreamHandlers) {}

  /** Feed decoded text; handlers run synchronously for everything complete in it. */
  push(chunk: string): void {
    if (this.done) return;
    this.buf += chunk;
    let pos = 0;
    const buf = this.buf;
    while (!this.done) {
      const lt = buf.indexOf('<', pos);
      if (lt === -1) {
        // Text runs until the next tag (an entity may be split across chunks): keep it,
        // but whitespace between first-level elements (keepalives) goes at once.
        if (this.stack.length === 0) {
          this.text(buf.slice(pos));
          pos = buf.length;
        }
        break;
      }
      if (lt > pos) this.text(buf.slice(pos, lt));
      pos = lt;
      if (buf.startsWith('<![CDATA[', pos)) {
        const end = buf.indexOf(']]>', pos + 9);
        if (end === -1) break;
        if (this.stack.length === 0) return this.fail('not-well-formed', 'character data outside a stanza');
        this.stack.at(-1)!.text += buf.slice(pos + 9, end);
        pos = end + 3;
        continue;
      }
      if (buf.startsWith('<!', pos)) return this.fail('restricted-xml', 'comments and DTDs are not allowed in an XMPP stream (RFC 6120 11.1)');
      if (buf.startsWith('<?', pos)) {
        const end = buf.indexOf('?>', pos);
        if (end === -1) break;
        if (!/^<\?xml[\s?]/.test(buf.slice(pos, end + 2)) || this.opened) return this.fail('restricted-xml', 'processing instructions are not allowed in an XMPP stream (RFC 6120 11.1)');
        pos = end + 2;
        continue;
      }
      const gt = tagEnd(buf, pos);
      if (gt === -1) break;
      if (gt === -2) return this.fail('not-well-formed', "a '<' inside a tag");
      const tag = buf.slice(pos + 1, gt);
      pos = gt + 1;
      if (!this.tag(tag)) return;
    }
    this.buf = buf.slice(pos);
    if (this.buf.length > MAX_ELEMENT_CHARS || this.pendingChars() > MAX_ELEMENT_CHARS) this.fail('policy-violation', `an element over ${MAX_ELEMENT_CHARS} characters`);
  }

  private pendingChars(): number {
    let n = 0;
    for (const e of this.stack) n += e.text.length + 64 * e.children.length;
    return n;
  }

  private text(t: string): void {
    if (t === '') return;
    const top = this.stack.at(-1);
    if (!top) {
      // Whitespace between first-level elements is a keepalive (RFC 6120 4.6.1).
      if (/\S/.test(t) && this.opened) this.fail('not-well-formed', 'character data outside a stanza');
      return;
    }
    const d = decodeXml(t);
    if (d === undefined) return this.fail('not-well-formed', 'a malformed entity or character reference');
    top.text += d;
  }

  /** One tag's inside (between < and >); false once the stream is over. */
  private tag(t: string): boolean {
    if (t.startsWith('/')) {
      const name = t.slice(1).trim();
      const top = this.stack.pop();
      if (!top) {
        if (this.opened && localName(name) === 'stream') {
          this.done = true;
          this.h.close();
          return false;
        }
        this.fail('not-well-formed', `an unexpected end tag </${name}>`);
        return false;
      }
      if (top.name !== name) {
        this.fail('not-well-formed', `</${name}> closes <${top.name}>`);
        return false;
      }
      if (this.stack.length === 0) this.h.element(top);
      return !this.done;
    }
    const selfClosing = t.endsWith('/');
    const body = selfClosing ? t.slice(0, -1) : t;
    const m = /^([^\s/>]+)/.exec(body);
    if (!m) {
      this.fail('not-well-formed', 'a tag without a name');
      return false;
    }
    const attrs: Record<string, string> = {};
    ATTR.lastIndex = 0;
    let a: RegExpExecArray | null;
    const rest = body.slice(m[1]!.length);
    while ((a = ATTR.exec(rest)) !== null) {
      const v = decodeXml(a[2] ?? a[3] ?? '');
      if (v === undefined) {
        this.fail('not-well-formed', 'a malformed entity in an attribute');
        return false;
      }
      attrs[a[1]!] = v;
    }
    const el: XmlEl = { name: m[1]!, attrs, children: [], text: '' };
    if (!this.opened) {
      if (localName(el.name) !== 'stream' || selfClosing) {
        this.fail('not-well-formed', `expected a stream header, got <${el.name}>`);
        return false;
      }
      this.opened = true;
      this.h.open(attrs);
      return !this.done;
    }
    const parent = this.stack.at(-1);
    if (parent) parent.children.push(el);
    if (selfClosing) {
      if (!parent) this.h.element(el);
    } else this.stack.push(el);
    return !this.done;
  }

  private fail(condition: 'restricted-xml' | 'not-well-formed' | 'policy-violation', why: string): void {
    if (this.done) return;
    this.done = true;
    this.buf = '';
    this.stack = [];
    this.h.error(condition, why);
  }

  /** A new stream after STARTTLS or SASL success (RFC 6120 5.4.3.3, 6.4.6): start over. */
  restart(): void {
    this.buf = '';
    this.stack = [];
    this.opened = false;
    this.done = false;
  }
}

/** Index of the '>' ending the tag at `pos`, skipping quoted attribute values; -1 when not yet complete, -2 when malformed. */
function tagEnd(buf: string, pos: number): number {
  let q = '';
  for (let i = pos + 1; i < buf.length; i++) {
    const c = buf[i];
    if (q) {
      if (c === q) q = '';
    } else if (c === '"' || c === "'") q = c;
    else if (c === '>') return i;
    else if (c === '<') return -2;
  }
  return -1;
}
