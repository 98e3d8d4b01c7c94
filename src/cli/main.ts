#!/usr/bin/env node
// The cpe-sim entry: sizes V8 before the CLI's modules are even parsed, then loads it (./cli.ts).
// Linking the CLI's module graph allocates, so this must run first and the rest come in by a
// dynamic import: otherwise the main thread's young generation has already grown (to 8 MiB
// measured, and to 2 x 16 MiB by the end of start-up) and stays that size for the run. The
// main thread only routes messages, connection requests and scrapes; it keeps V8's initial
// young generation. The flag is process-wide and read whenever a heap would grow its young
// generation, so the coordinator starts each shard thread at its own size instead
// (--min-semi-space-size, read when a thread's heap is set up; see shardSemiSpaceMb).
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--semi-space-growth-factor=1');
await import('./cli.js');
