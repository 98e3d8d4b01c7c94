import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { OPTIONS, toEnv, toKebab } from '../src/config/options.js';
import type { ObjectNode, ParamNode } from '../src/datamodel/schema.js';
import { CpeView } from '../src/datamodel/view.js';
import { compileProfile } from '../src/profile/compile.js';
import { loadProfile } from '../src/profile/load.js';
import { FleetEnv } from '../src/shard/fleet-env.js';
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

// ---- README's profile figures come from the compiled profiles ----

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Parameters one CPE has when every table holds `pick(instances)` rows (nested tables multiply). */
function expandedCount(o: ObjectNode, pick: (i: ObjectNode['instances']) => number): number {
  let n = 0;
  for (const c of o.childList) {
    if (c.kind === 'param') n++;
    else n += (c.multi ? pick(c.instances) : 1) * expandedCount(c, pick);
  }
  return n;
}

function declared(o: ObjectNode): ParamNode[] {
  return o.childList.flatMap((c) => (c.kind === 'param' ? [c] : declared(c)));
}

/** The README bullet that starts with `- \`profiles/<name>\``, joined into one line. */
function readmeBullet(readme: string, name: string): string {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`- \`profiles/${name}\``));
  if (start < 0) return '';
  const out = [lines[start]!];
  for (let i = start + 1; i < lines.length && /^ {2}\S/.test(lines[i]!); i++) out.push(lines[i]!.trim());
  return out.join(' ');
}

describe('README states the shipped profiles\' sizes as the code computes them', () => {
  for (const name of ['example-tr181-gateway', 'huawei-bm632w-tr098']) {
    it(`profiles/${name}: parameters declared, per CPE once tables are expanded, moving`, () => {
      const spec = loadProfile(join(repoRoot, 'profiles', name));
      const template = compileProfile(spec);
      const params = declared(template.root);
      expect(params.length).toBe(template.paramCount);
      const moving = params.filter((p) => p.gen !== undefined).length;
      const fewest = expandedCount(template.root, (i) => i.min);
      const most = expandedCount(template.root, (i) => i.max);
      // The bounds hold for real CPEs: what a GetParameterValues of "" would list.
      const env = new FleetEnv(spec, template, 1, 'http://127.0.0.1:7548', 'docs-test', { url: 'http://acs.invalid/', username: '', password: '' });
      for (let index = 0; index < 200; index++) {
        const all = new CpeView(template, env.context(index, 0, 0), undefined).expand(['']);
        if (!all.ok) throw new Error(all.fault.message);
        expect(all.value.length).toBeGreaterThanOrEqual(fewest);
        expect(all.value.length).toBeLessThanOrEqual(most);
      }
      const bullet = readmeBullet(readFileSync(join(repoRoot, 'README.md'), 'utf8'), name);
      expect(bullet).toContain(`${fmt(template.paramCount)} parameters declared`);
      expect(bullet).toContain(`${fmt(fewest)} to ${fmt(most)} per CPE once tables are expanded`);
      expect(bullet).toContain(`${fmt(moving)} of them moving`);
    });
  }
});
