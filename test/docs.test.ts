import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { OPTIONS, toEnv, toKebab } from '../src/config/options.js';
import { expandNames } from '../src/cwmp/rpc/params.js';
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

// ---- the repository stands on its own ----

/** Where the rules below apply: code, tests, fixtures, docs, profiles and the two top-level pages. */
const SHIPPED = ['src', 'workers', 'test', 'bench', 'scripts', 'docs', 'profiles', '.ci', 'README.md', 'ARCHITECTURE.md'];

function shippedFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(repoRoot, rel);
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) walk(join(rel, name));
    } else {
      out.push(rel);
    }
  };
  for (const p of SHIPPED) if (existsSync(join(repoRoot, p))) walk(p);
  return out;
}

/**
 * Citations a reader of this repository cannot follow: the project's private working
 * documents, by file name or as a bare section number of its protocol digest (a letter, a
 * dot and a number with no standard in front), and paths out of the repository.
 * Public sources are cited instead: "TR-069 A.3.3.1", "TR-369 R-MSG.4", a TR-181 path,
 * "MQTT 5 3.3.2.3.5", or a heading of docs/cwmp-behaviour.md / docs/usp-behaviour.md.
 * (The character classes keep this file from matching itself.)
 */
const UNSHIPPED: ReadonlyArray<[RegExp, string]> = [
  [/\b(?:PROTOCOL[S]|DESIG[N]|STYL[E]|TOOLCHAI[N])\b/, 'a private working document'],
  [/(?<![\w./-])(?<!TR-069 )(?<!Annex )(?:A\.(?:10|[1-9])|B\.[1-7]|[CDE]\.[1-9])(?!\.?\d)/, 'a bare section of the private protocol digest'],
  [/(?:\.\.\/|\/work\/)share[d]\b|\bshare[d]\/(?:data|hooks)\b/, 'a path outside the repository'],
];

describe('the repository cites only what a reader can open', () => {
  it('names no private document, digest section or path outside the repository', () => {
    const hits: string[] = [];
    for (const rel of shippedFiles()) {
      const buf = readFileSync(join(repoRoot, rel));
      if (buf.includes(0)) continue; // binary
      buf
        .toString('utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const [re, what] of UNSHIPPED) if (re.test(line)) hits.push(`${rel}:${i + 1}: ${what}: ${line.trim().slice(0, 160)}`);
        });
    }
    expect(hits).toEqual([]);
  });
});

/** GitHub's anchor for a Markdown heading. */
const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

describe('references to the behaviour pages name headings that exist', () => {
  it('every "docs/...-behaviour.md \"Heading\"" and every #anchor into those pages resolves', () => {
    const pages = new Map<string, Set<string>>();
    for (const page of ['cwmp-behaviour.md', 'usp-behaviour.md']) {
      const headings = readFileSync(join(repoRoot, 'docs', page), 'utf8').split('\n').filter((l) => l.startsWith('## ')).map((l) => l.slice(3));
      pages.set(page, new Set(headings.map(slug)));
    }
    const broken: string[] = [];
    for (const rel of shippedFiles()) {
      if (!/\.(ts|md|yaml|yml|proto)$/.test(rel)) continue;
      readFileSync(join(repoRoot, rel), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const m of line.matchAll(/((?:cwmp|usp)-behaviour\.md)(?:#([\w-]+)|,? "([^"]+)")/g)) {
            const want = m[2] ?? slug(m[3]!);
            if (!pages.get(m[1]!)!.has(want)) broken.push(`${rel}:${i + 1}: ${m[0]}`);
          }
        });
    }
    expect(broken).toEqual([]);
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
        const all = expandNames(new CpeView(template, env.context(index, 0, 0), undefined), ['']);
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
