// The scheduler stores a timer's kind in one byte and the shard routes it by value: two
// kinds with one value would send one side's timers to the other (it happened in a merge).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from './helpers/harness.js';

describe('TimerKind', () => {
  it('gives every kind its own value, within one byte', () => {
    const src = readFileSync(join(repoRoot, 'src', 'shard', 'timer-kind.ts'), 'utf8');
    const body = /export const enum TimerKind \{([\s\S]*?)\n\}/.exec(src)![1]!;
    const kinds = [...body.matchAll(/^\s*(\w+) = (\d+),/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    expect(kinds.length).toBeGreaterThan(15);
    const byValue = new Map<number, string[]>();
    for (const [name, v] of kinds) byValue.set(v, [...(byValue.get(v) ?? []), name]);
    expect([...byValue.values()].filter((names) => names.length > 1)).toEqual([]);
    expect(kinds.every(([, v]) => v > 0 && v < 256)).toBe(true);
  });
});
