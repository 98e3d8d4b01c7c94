import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { createCatalog } from '../src/metrics/catalog.js';
import { repoRoot } from './helpers/harness.js';

describe('docs/metrics.md and the registry agree', () => {
  it('lists exactly the registered families, with their types and label names', async () => {
    const doc = readFileSync(`${repoRoot}docs/metrics.md`, 'utf8');
    const rows = doc.split('\n').filter((l) => /^\| `cpe_sim_/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
    const documented = new Map(
      rows.map((r) => [
        r[1]!.replace(/`/g, ''),
        // Label names are the backticked words before any parenthesis (which lists values).
        { type: r[2]!, labels: (r[3]!.replace(/\([^)]*\)/g, '').match(/`([a-z_]+)`/g) ?? []).map((x) => x.replace(/`/g, '')).sort() },
      ]),
    );
    const { registry } = createCatalog();
    const json = await registry.getMetricsAsJSON();
    expect([...documented.keys()].sort()).toEqual(json.map((m) => m.name).sort());
    for (const m of json) {
      const metric = registry.getSingleMetric(m.name) as unknown as { labelNames: string[] };
      expect([m.name, documented.get(m.name)!.type, documented.get(m.name)!.labels]).toEqual([m.name, m.type, [...metric.labelNames].sort()]);
    }
  });
});
