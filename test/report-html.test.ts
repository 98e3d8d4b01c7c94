import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { renderReport, writeReport } from '../src/report/html.js';
import { launchChromium, plotsDrawn, watch } from './helpers/browser.js';
import { HOSTILE_STAGE, realisticSummary } from './helpers/summaries.js';

let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpe-sim-report-'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

const STAGES = ['power on', 'steady', HOSTILE_STAGE, 'find the limit'];

describe('report.html', () => {
  it('writes summary.json and report.html into a folder it creates', async () => {
    const s = realisticSummary();
    const out = join(dir, 'nested', 'run-1');
    await writeReport(out, s);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(s)));
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toContain('\n  "scenario": {');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toBe(renderReport(s));
    // Self-contained: no external script, stylesheet or image, and a policy that allows none.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).toContain(`default-src 'none'`);
    // What users wrote is escaped wherever the server wrote it.
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('storm </script><b>');
    expect(html).toContain('storm &#60;/script&#62;&#60;b&#62;bold');
  });

  it('opens offline in Chromium: every plot drew, stages marked, tables and thresholds shown, no request, no error', async () => {
    const s = realisticSummary({ usp: true });
    const out = join(dir, 'usp');
    await writeReport(out, s);
    const url = pathToFileURL(join(out, 'report.html')).href;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const log = watch(page);
    try {
      await page.goto(url);
      await page.waitForFunction(() => ((globalThis as unknown as { cpeSimPlots?: unknown[] }).cpeSimPlots ?? []).length >= 8, undefined, { timeout: 10_000 });
      const plots = await plotsDrawn(page);
      expect(plots.map((p) => p.id)).toEqual(['sessions', 'failures', 'latency', 'states', 'inflight', 'usp-rate', 'usp-rtt', 'mqtt']);
      for (const p of plots) {
        expect([p.id, p.points]).toEqual([p.id, s.timeline.length]);
        expect([p.id, p.stages]).toEqual([p.id, STAGES]);
        // Each plot drew its series (coloured lines), not just axes and grid.
        expect([p.id, p.colored > 200]).toEqual([p.id, true]);
      }
      // The legend names the series, units label the y axes.
      const legend = await page.locator('#chart-failures .u-legend').innerText();
      expect(legend).toContain('timeout');
      expect(legend).toContain('http-status');
      const units = await page.evaluate(() => (globalThis as unknown as { cpeSimPlots: Array<{ id: string; plot: { axes: Array<{ label?: string }> } }> }).cpeSimPlots.map((e) => [e.id, e.plot.axes[0]!.label, e.plot.axes[1]!.label]));
      expect(units).toContainEqual(['latency', 'time (local)', 'ms']);
      expect(units).toContainEqual(['sessions', 'time (local)', 'sessions/s']);
      expect(units).toContainEqual(['states', 'time (local)', 'CPEs']);

      expect(await page.locator('#result').innerText()).toMatch(/thresholds failed/i);
      expect(await page.locator('#exit-code').innerText()).toContain('exit code 2');
      const thresholds = await page.locator('#thresholds tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { innerText: string }).innerText.split('\t').map((c) => c.trim())));
      expect(thresholds).toEqual([
        ['session_success: rate > 0.99', 'whole run', expect.stringMatching(/^0\.\d+$/), 'FAIL'],
        ['acs_response_ms{message:Inform}: p(95) < 500', 'steady', '112.5', 'PASS'],
        ['ready_ms: p(99) < 2000', 'power on', '3,400', 'FAIL'],
        ['usp_rtt_ms: p(95) < 50', 'whole run', 'nothing measured', 'FAIL'],
      ].map((r) => r.map((c) => (typeof c === 'string' ? expect.stringMatching(new RegExp(`^${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'i')) : c))));
      const periods = await page.locator('#periods tbody tr td:first-child').allInnerTexts();
      expect(periods).toEqual([...STAGES, 'Whole run']);
      expect(await page.locator('#failures-by-reason').innerText()).toMatch(/timeout/);
      expect(await page.locator('#failures-by-status').innerText()).toMatch(/503/);
      expect(await page.locator('#acs-latency').innerText()).toMatch(/TransferComplete/);
      expect(await page.locator('#states-at-end').innerText()).toMatch(/dark/);
      expect(await page.locator('#usp-requests').innerText()).toMatch(/MQTT connected at end/);
      expect(await page.locator('#usp-latency').innerText()).toMatch(/Set/);
      const steps = await page.locator('#breakpoint-0 tbody tr').allInnerTexts();
      expect(steps).toHaveLength(4);
      expect(steps[3]).toMatch(/400.*231\.5.*broke.*acs_response_ms\{message:Inform\}/s);
      expect(await page.locator('#breakpoint').locator('xpath=following-sibling::p[1]').innerText()).toContain('held 200 sessions/s and broke at 400');

      // The hostile stage name is text, not markup.
      expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.locator('h1').innerText()).toBe('Monday 9:00 storm </script><b>bold</b>');

      expect(log.errors).toEqual([]);
      expect(log.requests).toEqual([url]);

      // Responsive: a narrow window resizes the plots to fit.
      await page.setViewportSize({ width: 700, height: 900 });
      await page.waitForFunction(() => ((globalThis as unknown as { cpeSimPlots: Array<{ plot: { width: number } }> }).cpeSimPlots).every((e) => e.plot.width < 700), undefined, { timeout: 5_000 });

      await page.setViewportSize({ width: 1280, height: 900 });
      await page.waitForFunction(() => ((globalThis as unknown as { cpeSimPlots: Array<{ plot: { width: number } }> }).cpeSimPlots).every((e) => e.plot.width > 500), undefined, { timeout: 5_000 });
      const shot = join(out, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      copyFileSync(shot, '/tmp/report-shot.png');
    } finally {
      await page.close();
    }
  });

  it('leaves USP out when the run had none, and says so when a run recorded no point', async () => {
    const s = realisticSummary();
    const out = join(dir, 'cwmp-only');
    await writeReport(out, s);
    const page = await browser.newPage();
    const log = watch(page);
    try {
      await page.goto(pathToFileURL(join(out, 'report.html')).href);
      await page.waitForFunction(() => ((globalThis as unknown as { cpeSimPlots?: unknown[] }).cpeSimPlots ?? []).length >= 5, undefined, { timeout: 10_000 });
      expect((await plotsDrawn(page)).map((p) => p.id)).toEqual(['sessions', 'failures', 'latency', 'states', 'inflight']);
      expect(await page.locator('#usp').count()).toBe(0);

      const empty = { ...s, timeline: [], thresholds: [], result: 'aborted' as const, exitCode: 3, abortReason: 'ACS unreachable at <start>' };
      await writeReport(join(dir, 'empty'), empty);
      await page.goto(pathToFileURL(join(dir, 'empty', 'report.html')).href);
      expect(await page.locator('#charts').innerText()).toBe('No timeline point was recorded.');
      expect(await page.locator('#abort-reason').innerText()).toBe('Stopped early: ACS unreachable at <start>');
      expect(await page.locator('#result').innerText()).toMatch(/aborted/i);
      expect(await page.locator('#thresholds').innerText()).toBe('The scenario sets no threshold.');
      expect(log.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
