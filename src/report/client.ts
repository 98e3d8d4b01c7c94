// The browser half of report.html and the live page, as one inlined script: it turns
// TimelinePoints (src/scenario/summary.ts) into uPlot charts with the stages marked on
// each, and redraws them when points arrive. Plain ES2017 for any browser; it reads no
// URL and fetches nothing. Strings from the data reach the page only through textContent
// (uPlot's legend does the same) or canvas fillText, never as markup.
//
// window.CpeSimCharts.mount(root, points) -> { update(points) }
// window.cpeSimPlots: [{ id, plot, stages }] for whoever inspects the page (the tests).

export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var PALETTE = ['#2563eb', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5', '#0d9488', '#9333ea', '#b45309', '#be123c'];
  var NAMED = { ok: '#16a34a', failed: '#dc2626', ready: '#16a34a', new: '#64748b', bootstrapping: '#2563eb', dark: '#111827',
    connected: '#16a34a', connecting: '#2563eb', backoff: '#d97706', disconnected: '#dc2626', active: '#2563eb', queued: '#d97706' };
  var PCT = [['p50', '#16a34a'], ['p95', '#d97706'], ['p99', '#dc2626']];

  function keysOf(points, pick) {
    var seen = {}, out = [];
    for (var i = 0; i < points.length; i++) {
      var r = pick(points[i]);
      if (!r) continue;
      for (var k in r) if (Object.prototype.hasOwnProperty.call(r, k) && !seen[k]) { seen[k] = 1; out.push(k); }
    }
    return out.sort();
  }
  function colored(keys, get, dashed) {
    var n = 0;
    return keys.map(function (k) {
      var c = NAMED[k] || PALETTE[n++ % PALETTE.length];
      return { label: k, color: c, dash: dashed && dashed(k) ? [6, 4] : undefined, get: function (p) { return get(p, k); } };
    });
  }
  function pct(pick, name, q) {
    return function (p) { var v = pick(p); return v && v[q] != null ? v[q] : null; };
  }

  function specsFor(points) {
    var specs = [];
    specs.push({ id: 'sessions', title: 'Sessions ended per second', unit: 'sessions/s', series: [
      { label: 'ok', color: NAMED.ok, get: function (p) { return p.okPerSec; } },
      { label: 'failed', color: NAMED.failed, get: function (p) { return p.failedPerSec; } }] });
    var reasons = keysOf(points, function (p) { return p.failuresPerSec; });
    specs.push({ id: 'failures', title: 'Failed sessions per second, by reason', unit: 'failures/s',
      empty: 'No failed session in this run.',
      series: colored(reasons, function (p, k) { return (p.failuresPerSec && p.failuresPerSec[k]) || 0; }) });
    var lat = [];
    PCT.forEach(function (q) { lat.push({ label: 'ACS ' + q[0], color: q[1], get: pct(function (p) { return p.acsMs; }, 'acs', q[0]) }); });
    PCT.forEach(function (q) { lat.push({ label: 'Inform ' + q[0], color: q[1], dash: [6, 4], get: pct(function (p) { return p.informMs; }, 'inform', q[0]) }); });
    specs.push({ id: 'latency', title: 'ACS response time (all CPE messages, and Informs dashed)', unit: 'ms', series: lat });
    var states = keysOf(points, function (p) { return p.states; });
    specs.push({ id: 'states', title: 'CPEs by state (dark dashed)', unit: 'CPEs',
      series: colored(states, function (p, k) { return (p.states && p.states[k]) || 0; }, function (k) { return k === 'dark'; }) });
    specs.push({ id: 'inflight', title: 'Sessions in flight and queued', unit: 'sessions', series: [
      { label: 'active', color: NAMED.active, get: function (p) { return p.activeSessions; } },
      { label: 'queued', color: NAMED.queued, get: function (p) { return p.queuedSessions; } }] });
    var usp = points.some(function (p) { return p.uspPerSec != null || p.uspRttMs != null || p.mqtt != null; });
    if (usp) {
      specs.push({ id: 'usp-rate', title: 'USP requests answered per second', unit: 'requests/s', series: [
        { label: 'answered', color: '#2563eb', get: function (p) { return p.uspPerSec != null ? p.uspPerSec : null; } }] });
      specs.push({ id: 'usp-rtt', title: 'USP request handling time', unit: 'ms',
        series: PCT.map(function (q) { return { label: q[0], color: q[1], get: pct(function (p) { return p.uspRttMs; }, 'usp', q[0]) }; }) });
      var mq = keysOf(points, function (p) { return p.mqtt; });
      specs.push({ id: 'mqtt', title: 'USP agents by MQTT connection state', unit: 'agents',
        series: colored(mq, function (p, k) { return (p.mqtt && p.mqtt[k]) || 0; }) });
    }
    return specs;
  }

  // Runs of points in one stage: [{ name, x0, x1 }] in seconds; a run starts where the
  // previous point ended (points stand for the interval before their t).
  function stageRuns(points) {
    var runs = [];
    for (var i = 0; i < points.length; i++) {
      var p = points[i], x = p.t / 1000, last = runs[runs.length - 1];
      if (last && last.name === p.stage) { last.x1 = x; continue; }
      var x0 = i > 0 ? points[i - 1].t / 1000 : x;
      runs.push({ name: p.stage, x0: x0, x1: x });
    }
    return runs;
  }

  function stagePlugin(state) {
    function px(u, v) { return u.valToPos(v, 'x', true); }
    return { hooks: {
      drawClear: [function (u) {
        var ctx = u.ctx, b = u.bbox;
        ctx.save();
        state.runs.forEach(function (r, i) {
          if (!r.name) return;
          var a = Math.max(b.left, px(u, r.x0)), z = Math.min(b.left + b.width, px(u, r.x1));
          if (z <= a) return;
          ctx.fillStyle = i % 2 ? 'rgba(100,116,139,0.10)' : 'rgba(100,116,139,0.04)';
          ctx.fillRect(a, b.top, z - a, b.height);
        });
        ctx.restore();
      }],
      draw: [function (u) {
        var ctx = u.ctx, b = u.bbox, dpr = window.devicePixelRatio || 1;
        ctx.save();
        ctx.font = Math.round(11 * dpr) + 'px system-ui, sans-serif';
        ctx.textBaseline = 'top';
        state.runs.forEach(function (r) {
          var a = px(u, r.x0), z = px(u, r.x1);
          if (a >= b.left && a <= b.left + b.width) {
            ctx.strokeStyle = 'rgba(51,65,85,0.7)';
            ctx.lineWidth = dpr;
            ctx.setLineDash([4 * dpr, 3 * dpr]);
            ctx.beginPath(); ctx.moveTo(a, b.top); ctx.lineTo(a, b.top + b.height); ctx.stroke();
          }
          if (!r.name) return;
          var left = Math.max(a, b.left) + 4 * dpr, room = Math.min(z, b.left + b.width) - left - 2 * dpr;
          if (room < 24 * dpr) return;
          var text = r.name;
          while (text.length > 1 && ctx.measureText(text).width > room) text = text.slice(0, -2) + '\u2026';
          ctx.setLineDash([]);
          ctx.lineJoin = 'round';
          ctx.lineWidth = 3 * dpr;
          ctx.strokeStyle = 'rgba(255,255,255,0.9)';
          ctx.strokeText(text, left, b.top + 3 * dpr);
          ctx.fillStyle = '#334155';
          ctx.fillText(text, left, b.top + 3 * dpr);
        });
        ctx.restore();
      }],
    } };
  }

  function fmt(v) {
    if (v == null) return '--';
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  function dataFor(spec, points) {
    var xs = points.map(function (p) { return p.t / 1000; });
    return [xs].concat(spec.series.map(function (s) { return points.map(s.get); }));
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function mount(root, points) {
    var charts = [], signature = '';
    window.cpeSimPlots = window.cpeSimPlots || [];
    function width(box) { return Math.max(320, Math.floor(box.clientWidth || root.clientWidth || 800)); }

    function build(pts) {
      charts.forEach(function (c) { if (c.plot) c.plot.destroy(); var i = window.cpeSimPlots.indexOf(c.entry); if (i >= 0) window.cpeSimPlots.splice(i, 1); });
      charts = [];
      root.textContent = '';
      // Lay out every figure first, then size each plot to its own box.
      var laid = specsFor(pts).map(function (spec) {
        var fig = el('section', 'chart');
        fig.id = 'chart-' + spec.id;
        fig.appendChild(el('h3', null, spec.title));
        var box = el('div', 'plot');
        fig.appendChild(box);
        root.appendChild(fig);
        return { spec: spec, box: box };
      });
      var runs = stageRuns(pts);
      laid.forEach(function (l) {
        var spec = l.spec, box = l.box;
        if (!spec.series.length) {
          box.appendChild(el('p', 'empty', spec.empty || 'Nothing measured.'));
          charts.push({ spec: spec, plot: null });
          return;
        }
        var state = { runs: runs };
        var opts = {
          width: width(box), height: 240,
          scales: { x: { time: true } },
          series: [{ label: 'time' }].concat(spec.series.map(function (s) {
            return { label: s.label, stroke: s.color, width: 1.5, dash: s.dash, spanGaps: false, points: { show: false }, value: function (u, v) { return fmt(v); } };
          })),
          axes: [
            { label: 'time (local)', labelSize: 18, stroke: '#475569', grid: { stroke: '#e2e8f0' }, ticks: { stroke: '#cbd5e1' } },
            { label: spec.unit, labelSize: 18, size: 56, stroke: '#475569', grid: { stroke: '#e2e8f0' }, ticks: { stroke: '#cbd5e1' } }],
          legend: { live: true },
          cursor: { drag: { x: true, y: false } },
          plugins: [stagePlugin(state)],
        };
        var plot = new uPlot(opts, dataFor(spec, pts), box);
        var entry = { id: spec.id, plot: plot, stages: runs.map(function (r) { return r.name; }), state: state };
        window.cpeSimPlots.push(entry);
        charts.push({ spec: spec, plot: plot, box: box, state: state, entry: entry });
      });
    }

    function sig(pts) {
      return specsFor(pts).map(function (s) { return s.id + ':' + s.series.map(function (x) { return x.label; }).join(','); }).join('|');
    }

    function update(pts) {
      var s = sig(pts);
      if (s !== signature) { signature = s; build(pts); return; }
      var runs = stageRuns(pts);
      charts.forEach(function (c) {
        if (!c.plot) return;
        c.state.runs = runs;
        c.entry.stages = runs.map(function (r) { return r.name; });
        c.plot.setData(dataFor(c.spec, pts));
      });
    }

    var pending = 0;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        charts.forEach(function (c) { if (c.plot) c.plot.setSize({ width: width(c.box), height: 240 }); });
      }, 100);
    });
    update(points);
    return { update: update };
  }

  window.CpeSimCharts = { mount: mount, fmt: fmt };
})();
`;

/** Page styles both pages share (uPlot's own stylesheet is inlined next to them). */
export const PAGE_CSS = `
:root { color-scheme: light; --fg: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; padding: 24px 20px 48px; }
header.top { background: #0f172a; color: #f8fafc; }
header.top .inner { max-width: 1280px; margin: 0 auto; padding: 20px; display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; justify-content: space-between; }
header.top h1 { margin: 0; font-size: 22px; font-weight: 600; }
header.top p { margin: 4px 0 0; color: #cbd5e1; }
.badge { display: inline-block; padding: 4px 12px; border-radius: 999px; font-weight: 600; font-size: 13px; letter-spacing: .02em; }
.badge.passed { background: #dcfce7; color: var(--ok); }
.badge.thresholds-failed, .badge.fail { background: #fee2e2; color: var(--bad); }
.badge.aborted { background: #fef3c7; color: var(--warn); }
.badge.pass { background: #dcfce7; color: var(--ok); }
.verdict { text-align: right; }
.verdict .exit { display: block; margin-top: 6px; color: #cbd5e1; font-size: 13px; }
h2 { font-size: 17px; margin: 32px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 0 0 6px; font-weight: 600; color: #334155; }
.meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 8px 24px; margin: 0; }
.meta div { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.meta dt { color: var(--muted); font-size: 12px; }
.meta dd { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
.note { background: #fff7ed; border: 1px solid #fed7aa; border-radius: 8px; padding: 10px 14px; margin: 12px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 560px), 1fr)); gap: 16px; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; min-width: 0; }
.chart .plot { width: 100%; }
.chart .empty { color: var(--muted); margin: 24px 0; text-align: center; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; margin-bottom: 16px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; padding: 8px 12px; font-weight: 600; color: #334155; }
th, td { padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: #f1f5f9; font-weight: 600; font-size: 12px; color: #334155; }
td.num, th.num { text-align: right; }
tbody tr:nth-child(even) td { background: #fafcff; }
tr.run td { font-weight: 600; background: #f1f5f9 !important; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: #f1f5f9; padding: 1px 4px; border-radius: 4px; white-space: pre-wrap; }
header.top code { background: #1e293b; color: #e2e8f0; }
nav.toc { margin: 16px 0 0; display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; }
nav.toc a { color: #2563eb; text-decoration: none; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.tile .k { color: var(--muted); font-size: 12px; }
.tile .v { font-size: 22px; font-weight: 600; overflow-wrap: anywhere; }
.status { font-size: 13px; color: #cbd5e1; }
.status.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #22c55e; margin-right: 6px; }
.status.down::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #ef4444; margin-right: 6px; }
`;
