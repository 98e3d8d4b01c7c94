// report.html: one self-contained page per run (docs/scenarios.md "The report"): the
// result and exit code first, the thresholds, plots over the timeline with the stages
// marked, then the summary's tables per stage and for the whole run. Everything is
// inlined (uPlot, styles, data) so the file opens offline; every string that came from
// the scenario or the run is escaped.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BreakpointResult, PeriodSummary, Percentiles, Summary } from '../scenario/summary.js';
import { esc, jsonForScript, page } from './page.js';

const DASH = '\u2014';

function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? DASH : num(v, v < 10 ? 2 : v < 100 ? 1 : 0);
}

function pct(v: number | null): string {
  return v === null ? DASH : `${num(v * 100, 2)} %`;
}

const RESULT_TEXT: Record<Summary['result'], string> = {
  passed: 'Passed',
  'thresholds-failed': 'Thresholds failed',
  aborted: 'Aborted',
};

/** A table: headers (a leading '#' marks a numeric column), rows of already-escaped cells. */
function table(caption: string, headers: string[], rows: Array<{ cells: string[]; cls?: string }>, id?: string): string {
  const numeric = headers.map((h) => h.startsWith('#'));
  const th = headers.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''} scope="col">${esc(h.replace(/^#/, ''))}</th>`).join('');
  const body = rows
    .map((r) => `<tr${r.cls ? ` class="${r.cls}"` : ''}>${r.cells.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="scroll"><table${id ? ` id="${id}"` : ''}><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function periodsOf(s: Summary): Array<{ p: PeriodSummary; label: string; cls?: string }> {
  return [...s.stages.map((p) => ({ p, label: esc(p.name) })), { p: s.run, label: 'Whole run', cls: 'run' }];
}

function unionKeys(records: Array<Record<string, unknown> | undefined>): string[] {
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r ?? {})) keys.add(k);
  return [...keys].sort();
}

function sessionsTable(s: Summary): string {
  return table(
    'Sessions, latencies and readiness per stage',
    ['Stage', 'Kind', 'Started', '#Seconds', '#Sessions ok', '#Failed', '#Success rate', '#Sessions/s', '#Retry-After honoured', '#Session p50 ms', '#Session p99 ms', '#Power-on to ready p50 ms', '#Power-on to ready p99 ms'],
    periodsOf(s).map(({ p, label, cls }) => ({
      ...(cls ? { cls } : {}),
      cells: [
        label,
        esc(p.kind),
        esc(p.startedAt),
        num(p.seconds, 1),
        num(p.sessions.ok),
        num(p.sessions.failed),
        pct(p.sessions.successRate),
        num(p.sessions.perSecond, 2),
        num(p.failures.retryAfterHonored),
        ms(p.sessionMs.p50),
        ms(p.sessionMs.p99),
        ms(p.powerOnToReadyMs.p50),
        ms(p.powerOnToReadyMs.p99),
      ],
    })),
    'periods',
  );
}

/** Rows = keys (reasons, statuses, states), columns = periods. */
function crossTable(s: Summary, caption: string, keyHeader: string, pick: (p: PeriodSummary) => Record<string, number> | undefined, id: string, empty: string): string {
  const periods = periodsOf(s);
  const keys = unionKeys(periods.map(({ p }) => pick(p)));
  if (keys.length === 0) return `<p class="empty-table" id="${id}">${esc(empty)}</p>`;
  return table(
    caption,
    [keyHeader, ...periods.map(({ p, cls }) => `#${cls ? 'Whole run' : p.name}`)],
    keys.map((k) => ({ cells: [esc(k), ...periods.map(({ p }) => num(pick(p)?.[k] ?? 0))] })),
    id,
  );
}

function latencyRows(label: string, kinds: Record<string, Percentiles>, cls?: string): Array<{ cells: string[]; cls?: string }> {
  return Object.keys(kinds)
    .sort()
    .map((k) => {
      const v = kinds[k]!;
      return { ...(cls ? { cls } : {}), cells: [label, esc(k), num(v.count), ms(v.p50), ms(v.p95), ms(v.p99), ms(v.avg), ms(v.max)] };
    });
}

function acsTable(s: Summary): string {
  const rows = periodsOf(s).flatMap(({ p, label, cls }) => latencyRows(label, p.acsResponseMs, cls));
  if (rows.length === 0) return '<p class="empty-table" id="acs-latency">No ACS response was timed.</p>';
  return table('ACS response time per CPE message sent (ms)', ['Stage', 'Message', '#Count', '#p50', '#p95', '#p99', '#Average', '#Max'], rows, 'acs-latency');
}

function uspSection(s: Summary): string {
  const periods = periodsOf(s).filter(({ p }) => p.usp);
  if (periods.length === 0) return '';
  const counts = table(
    'USP requests answered per stage',
    ['Stage', '#Requests ok', '#Requests with an error', ...unionKeys(periods.map(({ p }) => p.usp!.connectionsAtEnd)).map((k) => `#MQTT ${k} at end`)],
    periods.map(({ p, label, cls }) => {
      const keys = unionKeys(periods.map(({ p: q }) => q.usp!.connectionsAtEnd));
      return { ...(cls ? { cls } : {}), cells: [label, num(p.usp!.requestsOk), num(p.usp!.requestsError), ...keys.map((k) => num(p.usp!.connectionsAtEnd[k] ?? 0))] };
    }),
    'usp-requests',
  );
  const rtt = periods.flatMap(({ p, label, cls }) => latencyRows(label, p.usp!.rttMs, cls));
  const rttTable = rtt.length
    ? table('USP request handling time per message type (ms)', ['Stage', 'Message', '#Count', '#p50', '#p95', '#p99', '#Average', '#Max'], rtt, 'usp-latency')
    : '<p class="empty-table">No USP request was timed.</p>';
  return `<h2 id="usp">USP (TR-369)</h2>\n${counts}\n${rttTable}`;
}

function breakpointSection(s: Summary): string {
  const found = periodsOf(s).filter((x): x is { p: PeriodSummary & { breakpoint: BreakpointResult }; label: string } => !!x.p.breakpoint);
  if (found.length === 0) return '';
  const parts = found.map(({ p, label }, i) => {
    const b = p.breakpoint;
    const verdict =
      b.brokeAtRate === null
        ? `Every step held up to ${num(b.toRate, 2)} sessions/s.`
        : b.highestRateHeld === null
          ? `The first step (${num(b.brokeAtRate, 2)} sessions/s) already broke a threshold.`
          : `The ACS held ${num(b.highestRateHeld, 2)} sessions/s and broke at ${num(b.brokeAtRate, 2)} sessions/s.`;
    const steps = table(
      `Steps of ${p.name} (${num(b.fromRate, 2)} to ${num(b.toRate, 2)} sessions/s)`,
      ['Step', '#Target rate /s', '#Achieved /s', 'Started', 'Held', 'Thresholds broken'],
      b.steps.map((st, i) => ({
        ...(st.held ? {} : { cls: 'broke' }),
        cells: [String(i + 1), num(st.rate, 2), st.reached === false ? `${num(st.achieved, 2)} (short of the aim)` : num(st.achieved, 2), esc(st.startedAt), st.held ? '<span class="badge pass">held</span>' : '<span class="badge fail">broke</span>', st.broke.map((t) => `<code>${esc(t)}</code>`).join('<br>') || DASH],
      })),
      `breakpoint-${i}`,
    );
    return `<h3>${label}</h3>\n<p class="verdict-line"><strong>${esc(verdict)}</strong> Highest rate held: ${num(b.highestRateHeld, 2)}; broke at: ${num(b.brokeAtRate, 2)}.</p>\n${steps}`;
  });
  return `<h2 id="breakpoint">Breakpoint search</h2>\n${parts.join('\n')}`;
}

function thresholdsTable(s: Summary): string {
  if (s.thresholds.length === 0) return '<p class="empty-table" id="thresholds">The scenario sets no threshold.</p>';
  return table(
    'Thresholds',
    ['Threshold', 'Stage', '#Measured', 'Result'],
    s.thresholds.map((t) => ({
      cells: [`<code>${esc(t.source)}</code>`, t.stage === undefined ? 'whole run' : esc(t.stage), t.value === null ? 'nothing measured' : num(t.value, 3), t.ok ? '<span class="badge pass">pass</span>' : '<span class="badge fail">fail</span>'],
    })),
    'thresholds',
  );
}

function duration(a: string, b: string): string {
  const s = (Date.parse(b) - Date.parse(a)) / 1000;
  if (!Number.isFinite(s)) return DASH;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h ? `${h} h ${m} min ${sec} s` : m ? `${m} min ${sec} s` : `${num(s, 1)} s`;
}

/** The run's report as one self-contained HTML page. */
export function renderReport(summary: Summary): string {
  const s = summary;
  const passed = s.thresholds.filter((t) => t.ok).length;
  const header = `<header class="top"><div class="inner">
<div><h1>${esc(s.scenario.name)}</h1><p>${esc(s.scenario.description || 'cpe-sim load test')}</p></div>
<div class="verdict"><span class="badge ${esc(s.result)}" id="result">${esc(RESULT_TEXT[s.result] ?? s.result)}</span><span class="exit" id="exit-code">exit code ${esc(s.exitCode)} · thresholds ${passed}/${s.thresholds.length} passed</span></div>
</div></header>`;
  const meta: Array<[string, string]> = [
    ['Scenario file', esc(s.scenario.file)],
    ['Started', esc(s.startedAt)],
    ['Ended', esc(s.endedAt)],
    ['Duration', duration(s.startedAt, s.endedAt)],
    ['CPEs', `${num(s.fleet.cpes)} on ${num(s.fleet.shards)} shard${s.fleet.shards === 1 ? '' : 's'}`],
    ['ACS', esc(s.fleet.acsUrl)],
    ['USP broker', s.fleet.usp === undefined ? 'off' : esc(s.fleet.usp)],
    ['Seed', esc(s.fleet.seed)],
  ];
  const body = `
${s.abortReason ? `<p class="note" id="abort-reason"><strong>Stopped early:</strong> ${esc(s.abortReason)}</p>` : ''}
<dl class="meta">${meta.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>
<nav class="toc"><a href="#h-thresholds">Thresholds</a><a href="#h-charts">Over time</a><a href="#h-stages">Per stage</a><a href="#h-failures">Failures</a><a href="#h-acs">ACS response</a><a href="#h-states">CPE states</a>${s.stages.some((p) => p.usp) || s.run.usp ? '<a href="#usp">USP</a>' : ''}${[...s.stages, s.run].some((p) => p.breakpoint) ? '<a href="#breakpoint">Breakpoint</a>' : ''}</nav>
<h2 id="h-thresholds">Thresholds</h2>
${thresholdsTable(s)}
<h2 id="h-charts">Over time</h2>
<div class="charts" id="charts"></div>
<h2 id="h-stages">Per stage</h2>
${sessionsTable(s)}
<h2 id="h-failures">Failures</h2>
${crossTable(s, 'Failed sessions by reason (usp-: failed or lost USP MQTT connections)', 'Reason', (p) => p.failures.byReason, 'failures-by-reason', 'No session failed.')}
${crossTable(s, 'Failed sessions by HTTP status', 'HTTP status', (p) => p.failures.byStatus, 'failures-by-status', 'No session failed on an HTTP status.')}
<h2 id="h-acs">ACS response time</h2>
${acsTable(s)}
<h2 id="h-states">CPEs by state at the end of each stage</h2>
${crossTable(s, 'CPEs by state when the stage ended (dark ones are counted in their state too)', 'State', (p) => p.statesAtEnd, 'states-at-end', 'No state was recorded.')}
${uspSection(s)}
${breakpointSection(s)}
<footer>Made by cpe-sim. Charts drawn with uPlot (MIT licence), inlined. Times are UTC in the tables and local in the charts; rates are per second over each one-second interval of the timeline.</footer>
<script type="application/json" id="timeline">${jsonForScript(s.timeline)}</script>`;
  const script = `(function () {
  var points = JSON.parse(document.getElementById('timeline').textContent);
  var root = document.getElementById('charts');
  if (!points.length) { root.textContent = 'No timeline point was recorded.'; return; }
  window.cpeSimReport = CpeSimCharts.mount(root, points);
})();`;
  return page({ title: `${s.scenario.name}: ${RESULT_TEXT[s.result] ?? s.result}`, header, body, script });
}

/** summary.json (pretty) and report.html into `dir`, made if missing. */
export async function writeReport(dir: string, summary: Summary): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(join(dir, 'report.html'), renderReport(summary));
}
