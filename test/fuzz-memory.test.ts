// Nothing leaks across 100,000 hostile inputs: a child node (--expose-gc) runs 100,000
// mutated CWMP envelopes through the parser, the RPC handlers and the codec, and 100,000
// broken USP Records through the agent pipeline, on one CPE, and reports its heap and RSS
// after a full GC once warmed up (10,000 of each) and at the end. A bound on growth, not
// on time.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from './helpers/harness.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20251106);

describe('memory across 100,000 hostile inputs', () => {
  it('the heap grows less than 50 MB and RSS less than 100 MB between 10,000 and 100,000 inputs of each protocol', () => {
    const child = spawnSync(process.execPath, ['--expose-gc', `${repoRoot}dist/test/helpers/fuzz-memory-child.js`, '100000', String(SEED)], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { before: { heapMb: number; rssMb: number }; after: { heapMb: number; rssMb: number }; counts: Record<string, number> };
    process.stdout.write(`fuzz memory (seed ${SEED}): ${child.stdout}`);
    // The inputs did reach the handlers, on both sides.
    expect(r.counts['soapRequests']).toBeGreaterThan(5_000);
    expect(r.counts['uspAnswered']).toBeGreaterThan(10_000);
    expect(r.counts['uspDropped']).toBeGreaterThan(10_000);
    expect(r.after.heapMb - r.before.heapMb).toBeLessThan(50);
    expect(r.after.rssMb - r.before.rssMb).toBeLessThan(100);
  }, 130_000);
});
