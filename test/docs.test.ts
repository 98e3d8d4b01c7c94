import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { OPTIONS, toEnv, toKebab } from '../src/config/options.js';
import { repoRoot } from './helpers/harness.js';

describe('docs match the code', () => {
  it('README lists every option with its flag, env var and YAML key, and nothing else', () => {
    const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
    const rows = readme.split('\n').filter((l) => /^\| `--/.test(l));
    expect(rows.map((r) => /^\| `--([a-z-]+)`/.exec(r)![1])).toEqual(OPTIONS.map((o) => toKebab(o.key)));
    for (const o of OPTIONS) {
      const row = rows.find((r) => r.startsWith(`| \`--${toKebab(o.key)}\``))!;
      expect(row).toContain(`\`${toEnv(o.key)}\``);
      expect(row).toContain(`\`${o.key}\``);
    }
  });

  it('README quotes the two set-up commands that package.json and .ci/run implement', () => {
    const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
    const pkg = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { scripts: Record<string, string> };
    const ci = readFileSync(`${repoRoot}.ci/run`, 'utf8');
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toMatch(/^npm test\s/m);
    expect(pkg.scripts['demo']).toContain('--mock-acs');
    expect(pkg.scripts['demo']).toContain('--usp-broker embedded');
    expect(ci).toContain('npm ci');
    expect(ci).toMatch(/^npm test$/m);
  });
});
