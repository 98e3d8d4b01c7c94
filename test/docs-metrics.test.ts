import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { createCatalog } from '../src/metrics/catalog.js';
import { repoRoot } from './helpers/harness.js';

describe('docs/metrics.md and the registry agree', () => {
  it('lists exactly the registered families, with their types and labels', async () => {
    const doc = readFileSync(`${repoRoot}docs/metrics.md`, 'utf8');
    const rows = doc.split('\n').filter((l) => /^\| `cpe_sim_/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
    const documented = new Map(rows.map((r) => [r[1]!.replace(/`/g, ''), { type: r[2]!, labels: (r[3]!.match(/`([a-z_]+)`/g) ?? []).map((x) => x.replace(/`/g, '')) }]));
    const json = await createCatalog().registry.getMetricsAsJSON();
    expect([...documented.keys()].sort()).toEqual(json.map((m) => m.name).sort());
    for (const m of json) {
      expect([m.name, documented.get(m.name)!.type]).toEqual([m.name, m.type]);
    }
    const byName = new Map(json.map((m) => [m.name, m]));
    for (const [name, d] of documented) {
      const labels = new Set<string>();
      for (const v of byName.get(name)!.values) for (const k of Object.keys(v.labels)) labels.add(k);
      // Families with label values known up front expose them from the start; the rest are documented.
      labels.delete('le'); // histogram buckets
      for (const l of labels) expect(d.labels).toContain(l);
    }
  });
});
