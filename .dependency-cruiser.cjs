// The dependency check of `npm run check:cycles` (part of `npm test`): dependencies under
// src/ and workers/ point one way (no cycle; the data model, the two protocols and the
// thread messages keep to their side, see ARCHITECTURE.md "Which way dependencies point"). Every import counts, type-only ones included
// (tsPreCompilationDeps), and a failure names the cycle module by module. No cycle is
// allow-listed.

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'This import closes a cycle: one module of it must stop depending on the other (move the shared piece into a leaf module both import).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'datamodel-is-protocol-neutral',
      severity: 'error',
      comment: 'The data model serves both protocols: protocol and profile code imports it, never the other way.',
      from: { path: '^src/datamodel/' },
      to: { path: '^src/(cwmp|usp|profile|shard|threads)/' },
    },
    {
      name: 'protocols-stay-apart',
      severity: 'error',
      comment: 'CWMP and USP meet only in src/shard/ (one tree, two protocols); neither imports the shard, the coordinator, the listeners or metrics (src/http/digest.ts is a shared helper).',
      from: { path: '^src/(cwmp|usp)/' },
      to: { path: '^src/(shard|coordinator|metrics)/|^src/http/(admin-server|cr-listener|uws|gate)|^workers/' },
    },
    {
      name: 'cwmp-and-usp-apart',
      severity: 'error',
      comment: 'CWMP code does not import USP code, nor USP code CWMP code.',
      from: { path: '^src/(cwmp|usp)/' },
      to: { path: '^src/(cwmp|usp)/', pathNot: '^src/$1/' },
    },
    {
      name: 'thread-messages-are-neutral',
      severity: 'error',
      comment: 'The thread messages are imported by coordinator, shard, http, metrics and workers, and import none of them.',
      from: { path: '^src/threads/' },
      to: { path: '^src/(coordinator|shard|http|metrics|cwmp|usp)/|^workers/' },
    },
    {
      name: 'scenario-talks-through-messages',
      severity: 'error',
      comment: 'The scenario engine drives shards through the typed thread messages (coordinator, sampler), never by importing them; the protocols, listeners and metrics do not reach into it.',
      from: { path: '^src/scenario/' },
      to: { path: '^src/(shard|coordinator|http|metrics|cwmp|usp|report)/|^workers/' },
    },
    {
      name: 'only-the-event-model-reaches-the-shard',
      severity: 'error',
      comment: 'Shards, protocols and thread messages see the fleet-event model and the subset arithmetic, not the runner, parser or measuring code.',
      from: { path: '^src/(shard|cwmp|usp|threads)/' },
      to: { path: '^src/scenario/', pathNot: '^src/scenario/(model|target)[.]ts$' },
    },
    {
      name: 'no-unresolvable-local',
      severity: 'error',
      comment: 'A relative import that does not resolve would hide its edges from the cycle check.',
      from: {},
      to: { couldNotResolve: true, path: '^[.][.]?/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
};
