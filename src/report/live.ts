// The live page of the metrics listener: GET / serves it, GET /live streams the run's
// TimelinePoints to it as server-sent events (the WHATWG HTML standard, "Server-sent
// events": text/event-stream, one `data:` line per event). The page draws the same charts
// as report.html from what the stream sends, and never reads /metrics.
import type { TimelinePoint } from '../scenario/summary.js';
import { esc, page } from './page.js';

/** Where the live page's points come from: the run's recent points, then each new one. */
export interface LiveFeed {
  /** The points so far, oldest first (the server sends the last 10 minutes of them). */
  recent(): TimelinePoint[];
  /** Calls `fn` with each new point; returns the unsubscribe. */
  subscribe(fn: (p: TimelinePoint) => void): () => void;
}

/** How much history a client gets when it connects, in ms of point time. */
export const LIVE_WINDOW_MS = 10 * 60 * 1000;

/**
 * A LiveFeed over a bounded ring of points: `push` one point a second (the scenario
 * engine, from its merged shard samples) and every subscriber gets it. Holds at most
 * `capacity` points, whatever the fleet size.
 */
export class LiveBuffer implements LiveFeed {
  private readonly ring: TimelinePoint[] = [];
  private readonly subscribers = new Set<(p: TimelinePoint) => void>();

  constructor(private readonly capacity = LIVE_WINDOW_MS / 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LiveBuffer capacity must be a positive integer (points), got ${capacity}`);
  }

  push(p: TimelinePoint): void {
    this.ring.push(p);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    for (const fn of [...this.subscribers]) fn(p);
  }

  recent(): TimelinePoint[] {
    return [...this.ring];
  }

  /** Subscribers now (one per open /live stream). */
  get listeners(): number {
    return this.subscribers.size;
  }

  subscribe(fn: (p: TimelinePoint) => void): () => void {
    this.subscribers.add(fn);
    return () => {
      this.subscribers.delete(fn);
    };
  }
}

/** The points a newly connected client gets: those within LIVE_WINDOW_MS of the newest. */
export function recentWindow(points: readonly TimelinePoint[]): TimelinePoint[] {
  if (points.length === 0) return [];
  const from = points[points.length - 1]!.t - LIVE_WINDOW_MS;
  return points.filter((p) => p.t >= from);
}

/** One server-sent event carrying a point. */
export function sseEvent(p: TimelinePoint): string {
  // JSON.stringify leaves no raw newline, so the event is one data line.
  return `data: ${JSON.stringify(p)}\n\n`;
}

const TILES: Array<[string, string]> = [
  ['stage', 'Stage'],
  ['ok', 'Sessions ok /s'],
  ['failed', 'Sessions failed /s'],
  ['active', 'Sessions in flight'],
  ['queued', 'Sessions queued'],
  ['acs-p95', 'ACS p95 ms'],
  ['inform-p95', 'Inform p95 ms'],
  ['cpes', 'CPEs'],
];

let cached: string | undefined;

/** The live page, built once (it carries no data: everything comes over /live). */
export function renderLivePage(): string {
  if (cached) return cached;
  const header = `<header class="top"><div class="inner">
<div><h1>cpe-sim live</h1><p>The running fleet, one point a second over <code>/live</code>; the last 10 minutes.</p></div>
<div class="verdict"><span class="status down" id="status">connecting</span></div>
</div></header>`;
  const body = `<div class="tiles">${TILES.map(([id, k]) => `<div class="tile"><div class="k">${esc(k)}</div><div class="v" id="tile-${id}">--</div></div>`).join('')}</div>
<div class="scroll"><table id="states"><caption>CPEs by state now</caption><thead><tr><th>State</th><th class="num">CPEs</th></tr></thead><tbody></tbody></table></div>
<div class="charts" id="charts"><p class="empty">Waiting for the first point.</p></div>
<footer>Charts drawn with uPlot (MIT licence), inlined. Rates are per second over each one-second interval.</footer>`;
  const script = String.raw`(function () {
  var WINDOW = ${LIVE_WINDOW_MS} / 1000;
  var points = [], charts = null, queued = false;
  var live = window.cpeSimLive = { points: points, received: 0 };
  function set(id, v) { document.getElementById('tile-' + id).textContent = v; }
  function show() {
    queued = false;
    if (!points.length) return;
    var p = points[points.length - 1], fmt = CpeSimCharts.fmt;
    set('stage', p.stage || '(none)');
    set('ok', fmt(p.okPerSec));
    set('failed', fmt(p.failedPerSec));
    set('active', String(p.activeSessions));
    set('queued', String(p.queuedSessions));
    set('acs-p95', fmt(p.acsMs && p.acsMs.p95));
    set('inform-p95', fmt(p.informMs && p.informMs.p95));
    var total = 0, tbody = document.querySelector('#states tbody');
    tbody.textContent = '';
    Object.keys(p.states || {}).sort().forEach(function (k) {
      if (k !== 'dark') total += p.states[k];
      var tr = document.createElement('tr'), a = document.createElement('td'), b = document.createElement('td');
      a.textContent = k; b.textContent = String(p.states[k]); b.className = 'num';
      tr.appendChild(a); tr.appendChild(b); tbody.appendChild(tr);
    });
    set('cpes', String(total));
    if (!charts) { var root = document.getElementById('charts'); root.textContent = ''; charts = CpeSimCharts.mount(root, points); }
    else charts.update(points);
    document.body.setAttribute('data-points', String(points.length));
    document.body.setAttribute('data-last-t', String(p.t));
  }
  var status = document.getElementById('status');
  var es = new EventSource('live');
  es.onopen = function () { status.textContent = 'live'; status.className = 'status live'; };
  es.onerror = function () { status.textContent = 'reconnecting'; status.className = 'status down'; };
  es.onmessage = function (ev) {
    var p;
    try { p = JSON.parse(ev.data); } catch (e) { return; }
    if (!p || typeof p.t !== 'number') return;
    live.received++;
    // A reconnect sends the recent points again: keep only what is newer than what we have.
    if (points.length && p.t <= points[points.length - 1].t) return;
    points.push(p);
    var from = p.t - WINDOW * 1000;
    while (points.length && points[0].t < from) points.shift();
    if (!queued) { queued = true; requestAnimationFrame(show); }
  };
})();`;
  cached = page({ title: 'cpe-sim live', header, body, script, connect: "'self'" });
  return cached;
}
