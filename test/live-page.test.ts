import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { AdminServer } from '../src/http/admin-server.js';
import { createLogger } from '../src/log.js';
import { MetricsHub } from '../src/metrics/hub.js';
import { ThreadMetrics } from '../src/metrics/thread-metrics.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { LiveBuffer } from '../src/report/live.js';
import type { TimelinePoint } from '../src/scenario/summary.js';
import { launchChromium, plotsDrawn, watch } from './helpers/browser.js';
import { exampleProfile } from './helpers/harness.js';
import { scrape, sample } from './helpers/scrape.js';
import { point } from './helpers/summaries.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    })
      .on('error', reject)
      .end();
  });
}

/** Reads a /live stream until `until` holds on what came so far (bounded), then hangs up. */
function readStream(port: number, until: (text: string) => boolean, timeoutMs = 5_000): Promise<{ res: IncomingMessage; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/live', agent: false }, (res) => {
      let text = '';
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`/live did not send what was expected within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 300))}`));
      }, timeoutMs);
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (until(text)) {
          clearTimeout(timer);
          req.destroy();
          resolve({ res, text });
        }
      });
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    req.end();
  });
}

/** The points of the complete events in what came so far (a chunk may end mid-event). */
const dataLines = (text: string) => text.slice(0, text.lastIndexOf('\n\n') + 1).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as TimelinePoint);

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let acs: MockAcs;
let fleet: Fleet;
let metrics: ThreadMetrics;
let browser: Browser;
let dir: string;
const servers: AdminServer[] = [];

async function server(feed: LiveBuffer | undefined): Promise<number> {
  const s = new AdminServer(fleet.coordinator, new MetricsHub(metrics, () => 0), metrics.catalog, 's3cret', feed);
  servers.push(s);
  return s.listen('127.0.0.1', 0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpe-sim-live-'));
  acs = new MockAcs();
  await acs.listen();
  const cfg = loadConfig({ flags: { profile: exampleProfile, acsUrl: acs.url, cpes: '2', shards: '1', bootRamp: '0', crBindAddr: '127.0.0.1:0', logLevel: 'silent' }, env: {} });
  fleet = await startFleet(cfg, createLogger('silent', 'json'));
  metrics = new ThreadMetrics();
  browser = await launchChromium();
});

afterAll(async () => {
  for (const s of servers) s.close();
  await browser?.close();
  metrics?.close();
  await fleet?.stop();
  await acs?.close();
  rmSync(dir, { recursive: true, force: true });
});

const start = Date.UTC(2025, 4, 6, 9, 0, 0);

describe('the live page and its event stream', () => {
  it('GET /live sends the last 10 minutes at once, then each new point; read-only like /metrics', async () => {
    const feed = new LiveBuffer(2000);
    // 12 minutes of history: a new client gets the last 10 (601 points: t from last-600 s to last).
    for (let i = 0; i < 720; i++) feed.push(point(start + i * 1000, i < 600 ? 'warm' : 'hold', 0.3));
    const port = await server(feed);

    const first = await readStream(port, (text) => dataLines(text).length >= 601);
    expect(first.res.statusCode).toBe(200);
    expect(first.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const got = dataLines(first.text);
    expect(got).toHaveLength(601);
    expect(got[0]!.t).toBe(start + 119_000);
    expect(got.at(-1)).toEqual(feed.recent().at(-1));

    // A point pushed while a client listens reaches it.
    const next = readStream(port, (text) => dataLines(text).some((p) => p.stage === 'surge'));
    await until(() => feed.listeners >= 1, 'the stream to subscribe');
    feed.push({ ...point(start + 720_000, 'surge', 0.9), okPerSec: 321 });
    const late = dataLines((await next).text).find((p) => p.stage === 'surge')!;
    expect(late.okPerSec).toBe(321);
    // Both clients hung up: their subscriptions are gone (uWS onAborted).
    await until(() => feed.listeners === 0, 'the streams to unsubscribe');

    // The page and the stream need no token; /admin/* still does.
    const pageRes = await get(port, '/');
    expect(pageRes.status).toBe(200);
    expect(pageRes.type).toBe('text/html; charset=utf-8');
    expect(pageRes.body).toContain(`connect-src 'self'`);
    expect(pageRes.body).not.toContain('/metrics');
    expect((await get(port, '/admin/cpes')).status).toBe(401);
    expect((await get(port, '/', 'POST')).status).toBe(405);
    expect((await get(port, '/live', 'POST')).status).toBe(405);
    const text = await scrape(port);
    expect(sample(text, 'cpe_sim_admin_requests_total{route="/live",code="200"}')).toBe(2);
    expect(sample(text, 'cpe_sim_admin_requests_total{route="/",code="200"}')).toBe(1);
    expect(sample(text, 'cpe_sim_admin_requests_total{route="/live",code="405"}')).toBe(1);
  });

  it('without a feed, GET / still serves the page and /live opens a stream that carries no point', async () => {
    const port = await server(undefined);
    expect((await get(port, '/')).status).toBe(200);
    const s = await readStream(port, (text) => text.includes('\n\n'));
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.text).toBe('retry: 2000\n: cpe-sim live (no feed: nothing will be sent)\n\n');
  });

  it('in Chromium, the page shows the stream: history at once, then tiles and plots move with each new point', async () => {
    const feed = new LiveBuffer();
    for (let i = 0; i < 90; i++) feed.push(point(start + i * 1000, i < 45 ? 'power on' : 'steady', i / 120, { usp: true }));
    const port = await server(feed);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const log = watch(page);
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForSelector('body[data-points="90"]', { timeout: 10_000, state: 'attached' });
      expect(await page.locator('#status').innerText()).toBe('live');
      expect(await page.locator('#tile-stage').innerText()).toBe('steady');
      let plots = await plotsDrawn(page);
      expect(plots.map((p) => p.id)).toEqual(['sessions', 'failures', 'latency', 'states', 'inflight', 'usp-rate', 'usp-rtt', 'mqtt']);
      for (const p of plots) expect([p.id, p.points, p.stages]).toEqual([p.id, 90, ['power on', 'steady']]);
      // Load 0.74 at the end: failures began, so the failures plot drew too.
      for (const p of plots) expect([p.id, p.colored > 100]).toEqual([p.id, true]);

      // New points as the run goes on: a stage the page never saw, a new failure reason.
      for (let i = 90; i < 100; i++) {
        const p = point(start + i * 1000, 'surge <b>', 0.95, { usp: true });
        feed.push(i === 99 ? { ...p, okPerSec: 42.5, activeSessions: 777, failuresPerSec: { ...p.failuresPerSec, 'connect-refused': 3 } } : p);
      }
      await page.waitForSelector('body[data-points="100"]', { timeout: 10_000, state: 'attached' });
      expect(await page.locator('#tile-stage').innerText()).toBe('surge <b>');
      expect(await page.locator('#tile-ok').innerText()).toBe('42.5');
      expect(await page.locator('#tile-active').innerText()).toBe('777');
      expect(await page.locator('#states').innerText()).toMatch(/ready\s+5000/);
      plots = await plotsDrawn(page);
      for (const p of plots) expect([p.id, p.points, p.stages]).toEqual([p.id, 100, ['power on', 'steady', 'surge <b>']]);
      expect(await page.locator('#chart-failures .u-legend').innerText()).toContain('connect-refused');

      const shot = join(dir, 'live.png');
      await page.screenshot({ path: shot, fullPage: true });
      copyFileSync(shot, '/tmp/live-shot.png');

      // The page reads only itself and its stream, never /metrics.
      expect(log.requests).toEqual([`http://127.0.0.1:${port}/`, `http://127.0.0.1:${port}/live`]);
      expect(log.errors).toEqual([]);
    } finally {
      await page.close();
    }
    await until(() => feed.listeners === 0, 'the closed page to unsubscribe');
  });
});
