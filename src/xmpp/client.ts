// One XMPP client-to-server connection (RFC 6120), as a CPE keeps it for TR-069 Annex K
// connection requests and as the tests' ACS uses it to send them: TCP, the stream,
// STARTTLS when asked for or required, SASL (SCRAM-SHA-1, else PLAIN), resource binding,
// the session when the server requires it, initial presence; then stanzas both ways and
// whitespace keepalives (RFC 6120 4.6.1). Per connection it holds the socket, a string
// decoder and the unparsed tail of the input: no timers while up.
import { connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { pickMechanism, plainMessage, ScramSha1 } from './sasl.js';
import { child, escapeXml, localName, XmlStream, type XmlEl } from './xml-stream.js';

export const NS_CLIENT = 'jabber:client';
export const NS_STREAMS = 'http://etherx.jabber.org/streams';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_PING = 'urn:xmpp:ping';

export { XMPP_FAIL_CAUSES, type XmppFailCause } from './labels.js';
import type { XmppFailCause } from './labels.js';

export interface XmppClientOptions {
  host: string;
  port: number;
  /** The JID's domain: the stream's `to`, and the TLS server name. */
  domain: string;
  username: string;
  password: string;
  resource: string;
  /** Start TLS when the server offers STARTTLS (TR-181 XMPP.Connection.UseTLS); a server that requires it gets it either way. */
  useTls: boolean;
  /** PEM CA certificates trusted for the server's certificate (default: the system store). */
  ca?: string | undefined;
  /** The whole login (TCP to bound and present) must finish within this. */
  timeoutMs: number;
  /** Send initial presence once bound (default true). */
  presence?: boolean;
}

export interface XmppClientEvents {
  /** Logged in: the full JID the server bound. */
  onUp(jid: string, tls: boolean): void;
  /** The attempt failed or the connection went down (once per connection). */
  onDown(reason: string, cause: XmppFailCause): void;
  /** A stanza (iq, message, presence) once up; an iq get/set it leaves unanswered gets service-unavailable. */
  onStanza(el: XmlEl): boolean;
  /** The TCP socket is closed (after onDown, or after close()). */
  onSocketClosed?(): void;
}

type Phase = 'idle' | 'connecting' | 'up' | 'closed';

export class XmppClient {
  private socket: Socket | TLSSocket | undefined;
  private decoder = new StringDecoder('utf8');
  private readonly xml: XmlStream;
  private phase: Phase = 'idle';
  private tls = false;
  private authenticated = false;
  private scram: ScramSha1 | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private readonly pending = new Map<string, { resolve: (el: XmlEl) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** The full JID bound by the server, once up. */
  jid = '';

  constructor(
    private readonly o: XmppClientOptions,
    private readonly ev: XmppClientEvents,
  ) {
    this.xml = new XmlStream({
      open: () => undefined,
      element: (el) => this.element(el),
      close: () => this.down('the server closed the stream', 'closed'),
      error: (condition, why) => {
        this.write(`<stream:error><${condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`);
        this.down(`the server sent ${why}`, 'error');
      },
    });
  }

  get state(): Phase {
    return this.phase;
  }

  get secure(): boolean {
    return this.tls;
  }

  connect(): void {
    if (this.phase !== 'idle') return;
    this.phase = 'connecting';
    this.timer = setTimeout(() => this.down(`not logged in within ${this.o.timeoutMs} ms`, 'timeout'), this.o.timeoutMs);
    const s = netConnect({ host: this.o.host, port: this.o.port });
    // The raw socket's close is the one the descriptor count follows (a TLS socket wraps it).
    s.once('close', () => this.ev.onSocketClosed?.());
    this.attach(s);
    s.once('connect', () => {
      s.setNoDelay(true);
      this.header();
    });
  }

  private attach(s: Socket | TLSSocket): void {
    this.socket = s;
    const onData = (d: Buffer): void => this.xml.push(this.decoder.write(d));
    const onError = (e: NodeJS.ErrnoException): void => {
      const early = this.phase === 'connecting' && !this.sawServer;
      const cause: XmppFailCause = e.code === 'EMFILE' || e.code === 'ENFILE' ? 'descriptors' : this.tlsStarting ? 'tls' : early ? 'connect' : 'closed';
      this.down(`${e.code ?? 'error'}: ${e.message}`, cause);
    };
    const onClose = (): void => this.down('the connection closed', this.phase === 'connecting' && !this.sawServer ? 'connect' : 'closed');
    s.on('data', onData);
    s.on('error', onError);
    s.on('close', onClose);
    this.detach = () => {
      s.off('data', onData);
      s.off('error', onError);
      s.off('close', onClose);
    };
  }

  private detach: () => void = () => undefined;
  private tlsStarting = false;
  private sawServer = false;

  private header(): void {
    this.xml.restart();
    this.write(`<?xml version='1.0'?><stream:stream to='${escapeXml(this.o.domain)}' version='1.0' xml:lang='en' xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAMS}'>`);
  }

  private write(s: string): void {
    const sock = this.socket;
    if (sock && !sock.destroyed && sock.writable) sock.write(s);
  }

  /** Send raw XML (a stanza) when up; false when not. */
  send(xml: string): boolean {
    if (this.phase !== 'up') return false;
    this.write(xml);
    return true;
  }

  /** A whitespace keepalive (RFC 6120 4.6.1). */
  whitespace(): void {
    if (this.phase === 'up') this.write(' ');
  }

  /** Send an iq get/set and wait for its result or error (the tests' ACS side; pings). */
  request(to: string, type: 'get' | 'set', payload: string, timeoutMs: number): Promise<XmlEl> {
    const id = `c${++this.nextId}`;
    return new Promise((resolve, reject) => {
      if (this.phase !== 'up') return reject(new Error('not connected'));
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to iq ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.write(`<iq type='${type}' id='${id}' to='${escapeXml(to)}'>${payload}</iq>`);
    });
  }

  private element(el: XmlEl): void {
    this.sawServer = true;
    const name = localName(el.name);
    // A first-level <error/> is the stream's (RFC 6120 4.9); stanza errors sit inside stanzas.
    if (name === 'error') {
      const cond = el.children.find((c) => c.attrs['xmlns'] === 'urn:ietf:params:xml:ns:xmpp-streams' && localName(c.name) !== 'text');
      const text = el.children.find((c) => localName(c.name) === 'text')?.text;
      this.down(`stream error: ${cond ? localName(cond.name) : 'unknown'}${text ? ` (${text})` : ''}`, 'stream-error');
      return;
    }
    if (this.phase === 'up') return this.stanza(el, name);
    if (this.phase !== 'connecting') return;
    switch (name) {
      case 'features':
        return this.features(el);
      case 'proceed':
        return this.startTls();
      case 'failure':
        if (el.attrs['xmlns'] === NS_TLS) return this.down('the server refused STARTTLS', 'tls');
        return this.down(`SASL failure: ${el.children[0] ? localName(el.children[0].name) : 'unknown'}`, 'auth');
      case 'challenge':
        return this.challenge(el.text);
      case 'success':
        if (this.scram && !this.scram.verify(el.text)) return this.down('SCRAM: the server signature does not match', 'auth');
        this.authenticated = true;
        this.scram = undefined;
        return this.header();
      case 'iq':
        return this.bindAnswer(el);
      default:
        return;
    }
  }

  private features(el: XmlEl): void {
    const starttls = child(el, 'starttls', NS_TLS);
    if (!this.tls && starttls && (this.o.useTls || child(starttls, 'required'))) {
      this.write(`<starttls xmlns='${NS_TLS}'/>`);
      return;
    }
    if (!this.tls && this.o.useTls) return this.down('UseTLS is set but the server does not offer STARTTLS', 'tls');
    if (!this.authenticated) {
      const mechs = child(el, 'mechanisms', NS_SASL);
      const offered = mechs ? mechs.children.filter((c) => localName(c.name) === 'mechanism').map((c) => c.text.trim()) : [];
      const mech = pickMechanism(offered);
      if (!mech) return this.down(`no SASL mechanism in common (offered: ${offered.join(', ') || 'none'})`, 'auth');
      if (mech === 'SCRAM-SHA-1') {
        this.scram = new ScramSha1(this.o.username, this.o.password);
        this.write(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${this.scram.first()}</auth>`);
      } else this.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainMessage(this.o.username, this.o.password)}</auth>`);
      return;
    }
    if (!child(el, 'bind', NS_BIND)) return this.down('the server offers no resource binding', 'bind');
    this.needSession = (() => {
      const s = child(el, 'session', NS_SESSION);
      return s !== undefined && !child(s, 'optional');
    })();
    this.write(`<iq type='set' id='bind'><bind xmlns='${NS_BIND}'><resource>${escapeXml(this.o.resource)}</resource></bind></iq>`);
  }

  private needSession = false;

  private challenge(b64: string): void {
    const scram = this.scram;
    if (!scram) return this.down('a SASL challenge to PLAIN', 'auth');
    scram.final(b64.trim()).then(
      (resp) => this.phase === 'connecting' && this.write(`<response xmlns='${NS_SASL}'>${resp}</response>`),
      (e: Error) => this.down(e.message, 'auth'),
    );
  }

  private bindAnswer(el: XmlEl): void {
    const id = el.attrs['id'];
    if (el.attrs['type'] === 'error') return this.down(`${id === 'bind' ? 'binding' : 'session'} refused: ${errorCondition(el) ?? 'unknown'}`, 'bind');
    if (el.attrs['type'] !== 'result') return;
    if (id === 'bind') {
      const jid = child(el, 'bind', NS_BIND) && child(child(el, 'bind', NS_BIND)!, 'jid')?.text.trim();
      if (!jid) return this.down('the bind result carries no JID', 'bind');
      this.jid = jid;
      if (this.needSession) {
        this.write(`<iq type='set' id='sess'><session xmlns='${NS_SESSION}'/></iq>`);
        return;
      }
      return this.ready();
    }
    if (id === 'sess') this.ready();
  }

  private ready(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.phase = 'up';
    if (this.o.presence !== false) this.write('<presence/>');
    this.ev.onUp(this.jid, this.tls);
  }

  private startTls(): void {
    const plain = this.socket as Socket;
    this.detach();
    // Errors of the raw socket surface on the TLS socket that wraps it.
    plain.on('error', () => undefined);
    this.decoder = new StringDecoder('utf8');
    this.tlsStarting = true;
    const t = tlsConnect({ socket: plain, servername: this.o.domain, ...(this.o.ca ? { ca: this.o.ca } : {}) });
    this.attach(t);
    t.once('secureConnect', () => {
      this.tlsStarting = false;
      this.tls = true;
      this.header();
    });
  }

  private stanza(el: XmlEl, name: string): void {
    if (name === 'iq') {
      const type = el.attrs['type'];
      const id = el.attrs['id'] ?? '';
      if (type === 'result' || type === 'error') {
        const p = this.pending.get(id);
        if (p) {
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.resolve(el);
          return;
        }
      }
      if (type === 'get' && child(el, 'ping', NS_PING)) {
        this.write(`<iq type='result' id='${escapeXml(id)}'${el.attrs['from'] ? ` to='${escapeXml(el.attrs['from'])}'` : ''}/>`);
        return;
      }
      if (!this.ev.onStanza(el) && (type === 'get' || type === 'set')) {
        // RFC 6120 8.4: a request for a namespace the entity does not serve.
        this.write(`<iq type='error' id='${escapeXml(id)}'${el.attrs['from'] ? ` to='${escapeXml(el.attrs['from'])}'` : ''}><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
      }
      return;
    }
    this.ev.onStanza(el);
  }

  private down(reason: string, cause: XmppFailCause): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.timer);
    this.rejectPending(reason);
    this.socket?.destroy();
    this.ev.onDown(reason, cause);
  }

  private rejectPending(reason: string): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(reason));
    }
    this.pending.clear();
  }

  /** End the stream politely (RFC 6120 4.4) and close; no onDown follows. */
  close(): void {
    if (this.phase === 'closed') return;
    const s = this.socket;
    const wasUp = this.phase === 'up';
    this.phase = 'closed';
    clearTimeout(this.timer);
    this.rejectPending('closed');
    if (!s) return;
    if (wasUp) {
      s.end('</stream:stream>');
      setTimeout(() => s.destroy(), 1000).unref();
    } else s.destroy();
  }

  /** The socket just dies (a power cut, a link fault): no stream end; no onDown follows. */
  abort(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.timer);
    this.rejectPending('aborted');
    this.socket?.destroy();
  }

  /** Cut like a link fault: the connection dies and onDown reports it. */
  cut(reason: string): void {
    this.down(reason, 'link');
  }
}

/** The defined condition of an error stanza (RFC 6120 8.3.3), if any. */
export function errorCondition(el: XmlEl): string | undefined {
  const e = child(el, 'error');
  const c = e?.children.find((x) => x.attrs['xmlns'] === NS_STANZAS);
  return c ? localName(c.name) : undefined;
}
