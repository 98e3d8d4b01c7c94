// The end-of-run text on stdout, as k6 prints its summary: the stages in a table, then
// every threshold with its value and pass/fail, then the result and exit code.
import type { PeriodSummary, Summary } from './summary.js';

const num = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? '-' : v.toFixed(digits));

function row(p: PeriodSummary): string[] {
  const failures = Object.entries(p.failures.byReason)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  const statuses = Object.entries(p.failures.byStatus)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  return [
    p.name,
    p.kind,
    num(p.seconds),
    `${p.sessions.ok}/${p.sessions.failed}`,
    num(p.sessions.perSecond),
    num(p.acsResponseMs['Inform']?.p95),
    num(p.powerOnToReadyMs.p99, 0),
    [failures, statuses && `(HTTP ${statuses})`].filter(Boolean).join(' ') || '-',
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => `  ${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')}`.trimEnd()).join('\n');
}

export function formatEnd(s: Summary): string {
  const out: string[] = [];
  out.push('', `  scenario  ${s.scenario.name} (${s.scenario.file})`);
  out.push(`  fleet     ${s.fleet.cpes} CPEs on ${s.fleet.shards} shard(s), seed ${s.fleet.seed}${s.fleet.acsUrl ? `, ACS ${s.fleet.acsUrl}` : ''}${s.fleet.usp ? `, USP broker ${s.fleet.usp}` : ''}`);
  out.push('');
  const head = ['stage', 'kind', 'seconds', 'sessions ok/failed', 'sessions/s', 'Inform p95 ms', 'ready p99 ms', 'failures'];
  out.push(table([head, ...s.stages.map(row), row(s.run)]));
  if (s.run.usp) {
    const uspRow = (p: PeriodSummary): string[] => {
      const rtt = Object.values(p.usp?.rttMs ?? {}).reduce<number | null>((m, x) => (x.p99 === null ? m : Math.max(m ?? 0, x.p99)), null);
      const conn = p.usp?.connectionsAtEnd ?? {};
      return [p.name, `${p.usp?.requestsOk ?? 0}/${p.usp?.requestsError ?? 0}`, num(rtt), String(conn['connected'] ?? 0), String((conn['backoff'] ?? 0) + (conn['connecting'] ?? 0) + (conn['disconnected'] ?? 0))];
    };
    out.push('', table([['USP', 'requests ok/error', 'worst p99 rtt ms', 'MQTT connected at end', 'not connected'], ...s.stages.map(uspRow), uspRow(s.run)]));
  }
  for (const st of s.stages) {
    const b = st.breakpoint;
    if (!b) continue;
    out.push('', `  breakpoint ${st.name}: ${b.steps.length} step(s) from ${b.fromRate}/s to ${b.toRate}/s`);
    for (const step of b.steps) out.push(`    ${step.held ? 'held ' : 'BROKE'} at ${step.rate}/s (achieved ${step.achieved}/s${step.reached ? '' : ', short of the aim'})${step.broke.length ? `: ${step.broke.join('; ')}` : ''}`);
    out.push(`    highest rate at which every threshold held: ${b.highestRateHeld === null ? 'none' : `${b.highestRateHeld} sessions/s`}`);
  }
  if (s.thresholds.length > 0) {
    out.push('', '  thresholds');
    for (const t of s.thresholds) out.push(`  ${t.ok ? '✓' : '✗'} ${t.source}  value ${t.value === null ? 'none measured' : t.value}`);
  }
  if (s.stop) {
    const reasons = Object.entries(s.stop.byReason).map(([r, n]) => `${r} ${n}`).join(', ');
    out.push('', `  stop      ${s.stop.inFlight} session(s) in flight at the end: ${s.stop.ok} ended ok, ${s.stop.failed} failed${reasons ? ` (${reasons})` : ''} during the stop`);
  }
  out.push('', `  result    ${s.result}${s.abortReason ? ` (${s.abortReason})` : ''}, exit code ${s.exitCode}`, '');
  return `${out.join('\n')}\n`;
}
