// One jest run for the whole monorepo: unit tests (*.test.ts) and integration
// tests against the real broker and database (*.int.test.ts). Workspace packages
// resolve to their TypeScript sources, so tests need no build step.
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'commonjs' } },
];
const shared = {
  // commander 15 ships only as an ES module: compile it to CommonJS like the sources.
  transform: { '^.+\\.ts$': swc, '/node_modules/commander/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!commander/)'],
  moduleNameMapper: {
    '^@cio-bridge/([^/]+)$': ['<rootDir>/packages/$1/src/index.ts', '<rootDir>/services/$1/src/index.ts'],
    '^@cio-bridge/([^/]+)/(.+)$': ['<rootDir>/packages/$1/src/$2', '<rootDir>/services/$1/src/$2'],
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testEnvironment: 'node',
};

module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/{packages,services}/*/src/**/*.test.ts',
        '<rootDir>/infra/**/*.test.ts',
        '<rootDir>/scripts/docs/**/*.test.ts',
        '!**/*.int.test.ts',
      ],
    },
    {
      ...shared,
      displayName: 'integration',
      // Decides once where Kafka, Postgres and Redis are (containers where Docker runs and
      // nothing is local: packages/testkit/src/infrastructure.ts) and stops what it started.
      globalSetup: '<rootDir>/packages/testkit/src/jest-global-setup.ts',
      globalTeardown: '<rootDir>/packages/testkit/src/jest-global-teardown.ts',
      testMatch: [
        '<rootDir>/{packages,services}/*/src/**/*.int.test.ts',
        '<rootDir>/scripts/**/*.int.test.ts',
        '<rootDir>/infra/**/*.int.test.ts',
      ],
      slowTestThreshold: 30,
    },
  ],
};
