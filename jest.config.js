// One config, three projects: unit (pure logic, no I/O), integration (real Postgres
// and Kafka, one library or service at a time), e2e (all services as processes).
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022', keepClassNames: true } }];
const common = {
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@sitesaga/([a-z-]+)$': '<rootDir>/libs/$1/src',
    // A package's `testing` entry: what its tests and the e2e tests may use of it, by name.
    '^@sitesaga/([a-z-]+)/testing$': ['<rootDir>/libs/$1/src/testing', '<rootDir>/apps/$1/src/testing'],
  },
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
};
module.exports = {
  // Starts Kafka and Postgres once for the whole run when none is configured.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.int-spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
    },
  ],
};
