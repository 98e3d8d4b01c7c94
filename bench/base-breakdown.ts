// Where the fixed base goes: the BenchmarkFixedBase set-up (the CLI with 100 CPEs, 2 shards,
// metrics on, against the minimal ACS in another process), and once every CPE is ready and
// 3 s have passed, its resident memory split by kind (from /proc/<pid>/smaps) and each
// thread's V8 heap (v8.getHeapStatistics and heap spaces, written by a --require'd probe in
// every thread).
//   npm run build && node dist/bench/base-breakdown.js [cpes] [shards]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AcsProcess } from './acs-child.js';
import { fixedBaseArgs, rssMb, startCli, stopCli } from './whole-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1).padStart(7);

/** Written into every thread of the CLI: its heap figures, to a file of its own, every 500 ms. */
const PROBE = `
const v8 = require('node:v8');
const { threadId } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
const dir = process.env.BASE_BREAKDOWN_DIR;
setInterval(() => {
  const h = v8.getHeapStatistics();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
  const m = process.memoryUsage();
  writeFileSync(dir + '/heap-' + threadId + '.json', JSON.stringify({ threadId, physical: h.total_physical_size, used: h.used_heap_size, malloced: h.malloced_memory, external: m.external, arrayBuffers: m.arrayBuffers, spaces }));
}, 500).unref();
`;

interface Region {
  size: number;
  perms: string;
  name: string;
  rss: number;
}

function regions(pid: number): Region[] {
  const out: Region[] = [];
  let cur: Region | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      cur = { size: parseInt(head[2]!, 16) - parseInt(head[1]!, 16), perms: head[3]!, name: head[4] ?? '', rss: 0 };
      out.push(cur);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && cur) cur.rss = Number(rss[1]) * 1024;
  }
  return out;
}

/**
 * V8 maps its heap in 256 KiB-aligned pages (the young generation, old and large-object
 * spaces); JIT code is the anonymous rwx memory; glibc's malloc uses brk ([heap]) for the
 * main thread and 64 MiB arenas (a read-write head and the rest reserved) for other threads.
 */
function kindOf(r: Region): string {
  if (r.name === process.execPath || r.name.endsWith('/node')) return 'node binary (file pages)';
  if (r.name === '[heap]') return 'malloc: main arena (brk)';
  if (r.name.startsWith('/')) return 'other files (.so, .node)';
  if (r.name.startsWith('[')) return `other (${r.name})`;
  if (r.perms.includes('x')) return 'JIT code (anon rwx)';
  if (r.size % (256 * 1024) === 0 && r.size <= 64 * 2 ** 20) return 'V8 heap pages (anon)';
  return 'malloc: thread arenas, other anon';
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100);
  const shards = Number(process.argv[3] ?? 2);
  const profile = resolve(fileURLToPath(new URL('../../profiles/example-tr181-gateway', import.meta.url)));
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-breakdown-'));
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, PROBE);
  process.env['BASE_BREAKDOWN_DIR'] = dir;
  const acs = await AcsProcess.start();
  try {
    const { child } = await startCli(fixedBaseArgs(acs.url, n, shards, profile), 120_000, ['--require', probe]);
    try {
      await sleep(3000);
      const pid = child.pid!;
      const { rss, peak } = rssMb(pid);
      const byKind = new Map<string, number>();
      for (const r of regions(pid)) byKind.set(kindOf(r), (byKind.get(kindOf(r)) ?? 0) + r.rss);
      process.stdout.write(`cpe-sim with ${n} CPEs, ${shards} shards, metrics on: ${rss.toFixed(1)} rss_mb, ${peak.toFixed(1)} peak_rss_mb\n\nresident memory by kind (MB)\n`);
      for (const [kind, bytes] of [...byKind].sort((a, b) => b[1] - a[1])) if (bytes > 0) process.stdout.write(`${mb(bytes)}  ${kind}\n`);
      process.stdout.write(`\nV8 heap per thread (MB)\n${'thread'.padEnd(8)}${['physical', 'used', 'new', 'old', 'code', 'large', 'malloced', 'external', 'arraybuf'].map((h) => h.padStart(9)).join('')}\n`);
      const threads = readdirSync(dir)
        .filter((f) => f.startsWith('heap-'))
        .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { threadId: number; physical: number; used: number; malloced: number; external: number; arrayBuffers: number; spaces: Record<string, number> })
        .sort((a, b) => a.threadId - b.threadId);
      for (const t of threads) {
        const cols = [t.physical, t.used, t.spaces['new_space'] ?? 0, t.spaces['old_space'] ?? 0, t.spaces['code_space'] ?? 0, t.spaces['large_object_space'] ?? 0, t.malloced, t.external, t.arrayBuffers];
        process.stdout.write(`${(t.threadId === 0 ? 'main' : `worker ${t.threadId}`).padEnd(8)}${cols.map((c) => mb(c).padStart(9)).join('')}\n`);
      }
    } finally {
      await stopCli(child);
    }
  } finally {
    await acs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
