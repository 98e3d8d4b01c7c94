// Headless Chromium for the page tests, driven by playwright-core. Debian's `chromium`
// package is what CI installs (.ci/run); CHROMIUM_PATH points elsewhere.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export function chromiumPath(): string {
  const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Chromium executable at ${candidates.join(', ')}: install the \`chromium\` package (apt-get install chromium), or set CHROMIUM_PATH`);
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'], timeout: 20_000 });
}

/** What a page did that a test checks: every request it made, console errors, uncaught exceptions. */
export interface PageLog {
  requests: string[];
  errors: string[];
}

export function watch(page: Page): PageLog {
  const log: PageLog = { requests: [], errors: [] };
  page.on('request', (r) => log.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.errors.push(`page: ${e.message}`));
  return log;
}

/**
 * Per uPlot chart on the page (window.cpeSimPlots): its id, the stages it marks, how many
 * points it holds and how many strongly coloured pixels its canvas has. Axes, grid, text
 * and stage bands are grey; a coloured pixel is a drawn series.
 */
export function plotsDrawn(page: Page): Promise<Array<{ id: string; stages: string[]; points: number; colored: number; width: number }>> {
  return page.evaluate(() => {
    type Ctx = { canvas: { width: number; height: number }; getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
    type Entry = { id: string; stages: string[]; plot: { data: number[][]; ctx: Ctx; root: { clientWidth: number } } };
    const plots = (globalThis as unknown as { cpeSimPlots?: Entry[] }).cpeSimPlots ?? [];
    return plots.map((e) => {
      const c = e.plot.ctx.canvas;
      const px = e.plot.ctx.getImageData(0, 0, c.width, c.height).data;
      let colored = 0;
      for (let i = 0; i < px.length; i += 4) {
        const r = px[i]!, g = px[i + 1]!, b = px[i + 2]!, a = px[i + 3]!;
        if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 80) colored++;
      }
      return { id: e.id, stages: e.stages, points: e.plot.data[0]!.length, colored, width: e.plot.root.clientWidth };
    });
  });
}
