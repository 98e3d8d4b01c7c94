// GET /metrics over real HTTP.
import { request } from 'node:http';

export function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

/** The value of one sample line `name{labels} value` (labels in the order rendered), or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Scrape until pred holds (shards push every 2 s) or timeoutMs has passed; returns the last scrape. */
export async function scrapeUntil(port: number, pred: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = await scrape(port);
  while (!pred(text) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    text = await scrape(port);
  }
  return text;
}
