// What the USP MTPs of our own on one TCP/TLS socket (WebSocket client, STOMP) share: the
// URL, one attempt's socket with its connect bound, a cut that resets the socket as a broken
// link does, an abort, a bounded goodbye, and onDown reported once per attempt with why.
// Each MTP adds its greeting, its parser and its goodbye frames.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

import type { MqttFailCause } from '../diagnostics.js';
import { causeOf } from './cause.js';
import type { AgentLink, LinkEvents, LinkState } from './link.js';
import { secureContextOf, type TlsFiles } from './tls.js';

export interface SocketLinkOptions extends TlsFiles {
  url: string;
  /** Bound on one attempt: TCP/TLS connect and the MTP's own greeting. */
  connectTimeoutMs: number;
}

/** How one MTP names itself and its URLs. */
export interface SocketLinkKind {
  /** In messages: "websocket", "stomp". */
  name: string;
  /** URL schemes without TLS and with, e.g. ['ws:', 'wss:']. */
  schemes: readonly [string, string];
  /** Default ports without TLS and with. */
  ports: readonly [number, number];
  /** ALPN protocols offered over TLS. */
  alpn?: string[];
  error: (message: string) => Error;
  /** Why an attempt ended when its greeting was not answered in time. */
  connectTimeout: string;
  /** Why it ended when the peer closed: once up, and before. */
  closedWhenUp: string;
  closedBeforeUp: string;
}

export abstract class SocketLink<O extends SocketLinkOptions> implements AgentLink {
  protected st: LinkState = 'idle';
  protected sock: Socket | undefined;
  protected timer: NodeJS.Timeout | undefined;
  /** Bytes received and not yet parsed. */
  protected pending: Buffer | undefined;
  /** Why the current attempt ends (set before the socket is destroyed). */
  protected ending: { reason: string; cause: MqttFailCause } | undefined;
  protected readonly target: { tls: boolean; host: string; port: number; path: string; hostHeader: string };

  constructor(
    protected readonly opts: O,
    protected readonly events: LinkEvents,
    private readonly kind: SocketLinkKind,
  ) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw kind.error(`${kind.name} mtp: not a URL: ${opts.url}`);
    }
    const [plain, secure] = kind.schemes;
    if (u.protocol !== plain && u.protocol !== secure) throw kind.error(`${kind.name} mtp: ${opts.url}: only ${plain}// and ${secure}// are supported`);
    const tls = u.protocol === secure;
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.target = { tls, host, port: u.port === '' ? kind.ports[tls ? 1 : 0] : Number(u.port), path: `${u.pathname || '/'}${u.search}`, hostHeader: u.host };
  }

  get state(): LinkState {
    return this.st;
  }

  abstract maxPayloadTo(dest: string): number;
  abstract publish(dest: string, payload: Uint8Array, qos: 0 | 1 | 2): Promise<void>;
  /** Per-attempt state back to its start, before a new socket opens. */
  protected abstract resetAttempt(): void;
  /** The socket is connected (TLS done): send the MTP's greeting. */
  protected abstract greet(sock: Socket): void;
  protected abstract onData(sock: Socket, d: Buffer): void;
  /** Write `final` if given, then the MTP's goodbye; the peer (or the bound) closes. */
  protected abstract goodbye(sock: Socket, final: { topic: string; payload: Uint8Array } | undefined): void;

  connect(): void {
    const k = this.kind;
    if (this.st !== 'idle' && this.st !== 'down') throw k.error(`${k.name} mtp: connect() in state ${this.st}`);
    this.st = 'connecting';
    this.ending = undefined;
    this.pending = undefined;
    this.resetAttempt();
    const t = this.target;
    const sock = t.tls
      ? tlsConnect({ host: t.host, port: t.port, secureContext: secureContextOf(this.opts), servername: isIP(t.host) === 0 ? t.host : undefined, ...(k.alpn ? { ALPNProtocols: k.alpn } : {}) })
      : netConnect({ host: t.host, port: t.port });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.once(t.tls ? 'secureConnect' : 'connect', () => this.greet(sock));
    sock.on('data', (d: Buffer) => this.onData(sock, d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.end(sock, `${k.name}: ${e.message}`, causeOf(e)));
    sock.once('close', () => {
      this.events.onSocketClosed?.();
      this.closed(sock);
    });
    this.timer = setTimeout(() => this.end(sock, k.connectTimeout, 'timeout'), this.opts.connectTimeoutMs);
  }

  async close(final?: { topic: string; payload: Uint8Array }): Promise<void> {
    if (this.st === 'closed') return;
    const sock = this.sock;
    const wasUp = this.st === 'up';
    this.st = 'closed';
    this.sock = undefined;
    this.clearTimer();
    if (sock === undefined || sock.destroyed) return;
    if (!wasUp) {
      sock.destroy();
      return;
    }
    const gone = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    this.goodbye(sock, final);
    const guard = setTimeout(() => sock.destroy(), this.opts.connectTimeoutMs);
    await gone;
    clearTimeout(guard);
  }

  cut(reason: string): void {
    const sock = this.sock;
    if (sock === undefined || (this.st !== 'up' && this.st !== 'connecting')) return;
    this.ending = { reason, cause: 'link' };
    sock.resetAndDestroy();
  }

  abort(): void {
    if (this.st === 'closed') return;
    const sock = this.sock;
    this.st = 'closed';
    this.sock = undefined;
    this.clearTimer();
    sock?.destroy();
  }

  /** End the attempt now with this reason. */
  protected end(sock: Socket, reason: string, cause: MqttFailCause): void {
    if (sock !== this.sock) return;
    this.ending ??= { reason, cause };
    sock.destroy();
    this.closed(sock);
  }

  /** The socket of the current attempt is gone: report onDown once. */
  private closed(sock: Socket): void {
    if (sock !== this.sock) return;
    this.sock = undefined;
    this.clearTimer();
    const wasUp = this.st === 'up';
    this.st = 'down';
    const e = this.ending ?? { reason: wasUp ? this.kind.closedWhenUp : this.kind.closedBeforeUp, cause: 'closed' as const };
    this.events.onDown(e.reason, e.cause);
  }

  protected clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
