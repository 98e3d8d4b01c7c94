// Tests are compiled by `tsc` first (it also type-checks them) and jest runs the
// emitted ESM. Piscina shard workers then load the same compiled files.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  transform: {},
  testTimeout: 30000,
  maxWorkers: 2,
};
