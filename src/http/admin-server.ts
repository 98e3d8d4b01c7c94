// The metrics and admin listener (--metrics-bind-addr): one uWS app on the main thread.
// GET /metrics; GET /admin/cpes[?state=&limit=&offset=]; GET /admin/cpes/{id};
// POST /admin/cpes/{id}/cr; POST /admin/cpes/{id}/fault/{code}; GET / (the live page) and
// GET /live (its server-sent events). Errors are JSON bodies with the right status. Bind
// it to localhost or inside a trust boundary.
import { createHash, timingSafeEqual } from 'node:crypto';
import type uWS from 'uWebSockets.js';
import { LIFECYCLE_STATES, type CpeDetail, type CpeSummary, type LifecycleState } from '../threads/messages.js';
import type { Catalog } from '../metrics/catalog.js';
import type { MetricsHub } from '../metrics/hub.js';
import { recentWindow, renderLivePage, sseEvent, type LiveFeed } from '../report/live.js';
import type { FleetEvent } from '../scenario/model.js';
import { parseEvent } from '../scenario/parse.js';
import { outsideFleet } from '../scenario/target.js';
import { ConfigError, CpeSimError } from '../util/errors.js';
import { listenUws, nativeUws, type UwsListener } from './uws.js';

interface Reply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
  /** Close the connection after this answer (the request's body was not read whole). */
  close?: boolean;
}

const STATUS: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

const json = (status: number, value: unknown, headers?: Record<string, string>): Reply => ({ status, body: JSON.stringify(value), contentType: 'application/json', ...(headers ? { headers } : {}) });
const error = (status: number, message: string, headers?: Record<string, string>) => json(status, { error: message }, headers);

export const MAX_PAGE = 1000;

/** What the admin API asks of the fleet (the coordinator answers by asking the owning shard). */
export interface AdminFleet {
  detail(cpe: number): Promise<CpeDetail | null>;
  list(state: LifecycleState | undefined, offset: number, limit: number): Promise<CpeSummary[]>;
  triggerConnectionRequest(cpe: number): Promise<{ crUrl: string; accepted: boolean; reason?: string }>;
  injectFault(cpe: number, code: number): Promise<{ queued: number }>;
  /** A fleet event now on every shard (POST /admin/events); how many CPEs it reached. */
  applyEvent(event: FleetEvent, at: number): Promise<number>;
  /** The fleet's global CPE indices [lo, hi), for checking an event's range. */
  readonly range: { lo: number; hi: number };
}

/** Largest request body the admin API reads (an event is a few hundred bytes). */
const MAX_BODY = 64 * 1024;

/** How long an idle /live stream goes before a comment line keeps proxies from closing it. */
const LIVE_KEEPALIVE_MS = 15_000;

export class AdminServer {
  private listener: UwsListener | undefined;
  port = 0;
  /** Open /live streams, ended on close(). */
  private readonly streams = new Set<() => void>();

  /**
   * `live`: where GET /live gets its points; without one the stream opens and stays
   * open with nothing but keep-alive comments, and GET / still serves the page.
   */
  constructor(
    private readonly fleet: AdminFleet,
    private readonly hub: MetricsHub,
    private readonly catalog: Catalog,
    private readonly token: string | undefined,
    private readonly live?: LiveFeed,
  ) {}

  async listen(host: string, port: number): Promise<number> {
    const u = nativeUws();
    const app = u.App();
    app.any('/*', (res, req) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      // HEAD is GET without the body (RFC 9110 9.3.2): same status and headers.
      const head = req.getMethod().toUpperCase() === 'HEAD';
      // uWS honours "Connection: close" after end(), not after endWithoutBody() (see send).
      const closing = head && /(^|,)\s*close\s*(,|$)/i.test(req.getHeader('connection'));
      const method = head ? 'GET' : req.getMethod().toUpperCase();
      const url = req.getUrl();
      if (url === '/live' && method === 'GET') {
        if (head) this.send(res, '/live', { status: 200, body: '', contentType: 'text/event-stream; charset=utf-8', headers: { 'cache-control': 'no-store' } }, () => aborted, true, closing);
        else this.stream(res);
        return;
      }
      const query = new URLSearchParams(req.getQuery() ?? '');
      const auth = req.getHeader('authorization');
      let route = 'unknown';
      // uWS hands the body over in chunks, and only to a handler that asked before returning.
      const body = method === 'POST' ? readBody(res) : Promise.resolve(Buffer.alloc(0));
      void body
        .then((b) => this.route(method, url, query, auth, (r) => (route = r), b), (e: Error): Reply => ({ ...error(413, e.message), close: true }))
        .then(
          (reply) => this.send(res, route, reply, () => aborted, head, closing),
          (e: unknown) => this.send(res, route, error(500, (e as Error).message), () => aborted, head, closing),
        )
        .catch(() => {
          // Nothing may escape as an unhandled rejection; answer if the client is still there.
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
        });
    });
    this.listener = await listenUws(app, host, port, 'metrics/admin listener');
    this.port = this.listener.port;
    return this.port;
  }

  close(): void {
    this.listener?.close();
    this.listener = undefined;
    for (const end of [...this.streams]) end();
  }

  /**
   * GET /live: a text/event-stream of TimelinePoints, the last 10 minutes at once and
   * then each new one. A client that cannot keep up misses points (uWS buffers what one
   * write could not send; further points wait until it drained) rather than growing
   * the buffer without bound.
   */
  private stream(res: uWS.HttpResponse): void {
    this.catalog.adminRequests.inc({ route: '/live', code: '200' });
    let open = true;
    let gone = false;
    let congested = false;
    const write = (chunk: string) => {
      if (!open || congested) return;
      res.cork(() => {
        if (!res.write(chunk)) congested = true;
      });
    };
    const stop = () => {
      if (!open) return;
      open = false;
      unsubscribe();
      clearInterval(keepalive);
      this.streams.delete(end);
    };
    const end = () => {
      if (!open) return;
      stop();
      if (!gone) res.cork(() => res.end());
    };
    // Replaces the handler's onAborted: from here on this stream is what tracks the client.
    res.onAborted(() => {
      gone = true;
      stop();
    });
    res.onWritable(() => {
      congested = false;
      return true;
    });
    res.cork(() => {
      res.writeStatus('200 OK');
      res.writeHeader('content-type', 'text/event-stream; charset=utf-8');
      res.writeHeader('cache-control', 'no-store');
      res.writeHeader('x-accel-buffering', 'no');
      // The history (bounded: 10 minutes of points) goes in one write, which uWS keeps whole
      // when the socket cannot take it at once; later points are dropped while congested.
      const history = recentWindow(this.live?.recent() ?? []).map(sseEvent).join('');
      if (!res.write(`retry: 2000\n: cpe-sim live${this.live ? '' : ' (no feed: nothing will be sent)'}\n\n${history}`)) congested = true;
    });
    const unsubscribe = this.live?.subscribe((p) => write(sseEvent(p))) ?? (() => undefined);
    const keepalive = setInterval(() => write(': keep-alive\n\n'), LIVE_KEEPALIVE_MS);
    keepalive.unref();
    this.streams.add(end);
  }

  private send(res: uWS.HttpResponse, route: string, r: Reply, aborted: () => boolean, head = false, close = false): void {
    this.catalog.adminRequests.inc({ route, code: String(r.status) });
    if (aborted()) return;
    const length = Buffer.byteLength(r.body);
    // This uWS build keeps the connection after endWithoutBody() even when asked to close
    // it: a HEAD with "Connection: close" gets its head by tryEnd (0 of the announced
    // bytes sent) and the socket is closed once the head is written.
    const closeAfter = head && close && length > 0;
    res.cork(() => {
      res.writeStatus(STATUS[r.status] ?? String(r.status));
      res.writeHeader('content-type', r.contentType);
      for (const [k, v] of Object.entries(r.headers ?? {})) res.writeHeader(k, v);
      if (closeAfter) res.tryEnd('', length);
      else if (head && length > 0) res.endWithoutBody(length);
      else res.end(head ? '' : r.body, r.close === true);
    });
    // Closed on the next turn: inside a uWS callback (an answer ready at once) the cork is
    // flushed only when that callback returns, and a close before it would drop the head.
    if (closeAfter) setImmediate(() => aborted() || res.close());
  }

  /** Bearer token check: scheme in any case (RFC 7235), digests compared so length leaks nothing. */
  private authorized(auth: string): boolean {
    if (!this.token) return true;
    const m = /^\s*bearer\s+(.+?)\s*$/i.exec(auth);
    if (!m) return false;
    const digest = (v: string) => createHash('sha256').update(v).digest();
    return timingSafeEqual(digest(m[1]!), digest(this.token));
  }

  private async route(method: string, url: string, query: URLSearchParams, auth: string, setRoute: (r: string) => void, body: Buffer): Promise<Reply> {
    const only = async (allowed: string, route: string, run: () => Promise<Reply>): Promise<Reply> => {
      setRoute(route);
      if (method !== allowed) return error(405, `${route} takes ${allowed}`, { allow: allowed });
      if (route.startsWith('/admin/') && !this.authorized(auth)) return error(401, 'admin requires Authorization: Bearer <token>', { 'www-authenticate': 'Bearer' });
      return run();
    };
    if (url === '/') {
      return only('GET', '/', async () => ({ status: 200, body: renderLivePage(), contentType: 'text/html; charset=utf-8', headers: { 'cache-control': 'no-store' } }));
    }
    if (url === '/live') return only('GET', '/live', async () => error(500, 'unreachable: GET /live streams'));
    if (url === '/metrics') {
      return only('GET', '/metrics', async () => ({ status: 200, body: await this.hub.render(), contentType: this.hub.contentType }));
    }
    if (url === '/admin/cpes' || url === '/admin/cpes/') return only('GET', '/admin/cpes', () => this.list(query));
    if (url === '/admin/events') return only('POST', '/admin/events', () => this.event(body));
    let m = /^\/admin\/cpes\/([^/]+)$/.exec(url);
    if (m) return only('GET', '/admin/cpes/{id}', () => this.withId(m![1]!, async (id) => {
      const d = await this.fleet.detail(id);
      return d ? json(200, toJson(d)) : error(404, `no CPE ${id}`);
    }));
    m = /^\/admin\/cpes\/([^/]+)\/cr$/.exec(url);
    if (m) return only('POST', '/admin/cpes/{id}/cr', () => this.withId(m![1]!, async (id) => {
      const r = await this.fleet.triggerConnectionRequest(id);
      // The CPE exists but cannot take one now (not powered on, rebooting): a conflict, not "feature off".
      if (!r.accepted) return error(409, `CPE ${id} cannot take a connection request now: ${r.reason}`);
      return json(202, { cr_url: r.crUrl, invoked_at: new Date().toISOString() });
    }));
    m = /^\/admin\/cpes\/([^/]+)\/fault\/([^/]+)$/.exec(url);
    if (m) return only('POST', '/admin/cpes/{id}/fault/{code}', () => this.withId(m![1]!, async (id) => {
      const code = Number(m![2]);
      if (!/^\d+$/.test(m![2]!) || code < 9000 || code > 9899) return error(400, `fault code ${JSON.stringify(m![2])} is not a CPE fault: expected an integer from 9000 to 9899 (TR-069 A.5.1)`);
      const q = await this.fleet.injectFault(id, code);
      return json(202, { id, code, queued: q.queued });
    }));
    return error(404, `no route ${url}`);
  }

  /** POST /admin/events: one fleet event, as a scenario stage writes it (docs/scenarios.md). */
  private async event(body: Buffer): Promise<Reply> {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return error(400, `the body is not JSON: ${(e as Error).message}`);
    }
    let ev: FleetEvent;
    try {
      ev = parseEvent(doc);
    } catch (e) {
      if (e instanceof ConfigError) return error(400, e.message);
      throw e;
    }
    const outside = outsideFleet(ev.target, this.fleet.range);
    if (outside) return error(400, `${ev.kind}.target: ${outside}`);
    const reached = await this.fleet.applyEvent(ev, Date.now());
    return json(202, { kind: ev.kind, reached });
  }

  private async withId(raw: string, run: (id: number) => Promise<Reply>): Promise<Reply> {
    if (!/^(0|[1-9]\d{0,9})$/.test(raw)) return error(404, `no CPE ${JSON.stringify(raw)}: ids are the CPEs' global indices`);
    try {
      return await run(Number(raw));
    } catch (e) {
      if (e instanceof CpeSimError && e.code === 'NOT_FOUND') return error(404, e.message);
      if (e instanceof CpeSimError && e.code === 'BAD_REQUEST') return error(400, e.message);
      if (e instanceof CpeSimError && e.code === 'CONFLICT') return error(409, e.message);
      throw e;
    }
  }

  private async list(q: URLSearchParams): Promise<Reply> {
    const state = q.get('state') ?? undefined;
    if (state !== undefined && !(LIFECYCLE_STATES as readonly string[]).includes(state)) return error(400, `state must be one of ${LIFECYCLE_STATES.join(', ')}`);
    const num = (k: string, dflt: number, max: number) => {
      const v = q.get(k);
      if (v === null) return dflt;
      return /^\d+$/.test(v) && Number(v) <= max ? Number(v) : NaN;
    };
    const limit = num('limit', 100, MAX_PAGE);
    const offset = num('offset', 0, Number.MAX_SAFE_INTEGER);
    if (Number.isNaN(limit)) return error(400, `limit must be an integer from 0 to ${MAX_PAGE}`);
    if (Number.isNaN(offset)) return error(400, 'offset must be a non-negative integer');
    const items = await this.fleet.list(state as LifecycleState | undefined, offset, limit);
    return json(200, { items: items.map(toJson), offset, limit });
  }
}

/** A request body, whole, or an error past MAX_BODY. */
function readBody(res: uWS.HttpResponse): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, last) => {
      size += chunk.byteLength;
      if (size > MAX_BODY) {
        reject(new Error(`request body over ${MAX_BODY} bytes`));
        return;
      }
      // uWS reuses the chunk's memory after the callback: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (last) resolve(Buffer.concat(chunks));
    });
  });
}

/** snake_case on the wire, as the admin API documents. */
function toJson(c: CpeSummary | CpeDetail) {
  const base = {
    id: c.id,
    serial: c.serial,
    lifecycle_state: c.lifecycleState,
    last_event: c.lastEvent,
    last_event_at: c.lastEventAt,
    retry_count: c.retryCount,
    cr_url: c.crUrl,
  };
  if (!('recentEvents' in c)) return base;
  return {
    ...base,
    recent_events: c.recentEvents,
    leaves: c.leaves,
    ...(c.usp ? { usp: { endpoint_id: c.usp.endpointId, mqtt_state: c.usp.mqtt } } : {}),
    usp_subscriptions: c.uspSubscriptions.map((s) => ({ path: s.path, id: s.id, notif_type: s.notifType, reference_list: s.referenceList, enabled: s.enabled, recipient: s.recipient })),
  };
}
