// The import-cycle check of `npm run check:cycles` (part of `npm test`): dependencies under
// src/ and workers/ point one way. Every import counts, type-only ones included
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
