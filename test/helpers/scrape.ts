// GET /metrics over real HTTP, and whether promtool (Debian package prometheus) is here:
// CI installs it; elsewhere the promtool checks are skipped.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { it } from '@jest/globals';

export const havePromtool = spawnSync('promtool', ['--version']).status === 0;
/** `it` when promtool can run (always under CI, so a missing one fails there), else `it.skip`. */
export const withPromtool = havePromtool || process.env['CI'] ? it : it.skip;

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
