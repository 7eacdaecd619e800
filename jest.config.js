// Three groups: `unit` needs nothing but Node; `integration` talks to a real Apache Kafka broker,
// started once per run by test/broker/global-setup.ts (or the cluster named by KAFKA_BROKERS);
// `failover` kills, freezes and restarts the nodes of a 3-node cluster of its own
// (test/broker/cluster.ts), started once per run by test/broker/failover-setup.ts.
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
};
const moduleNameMapper = {
  '^kafkarx$': '<rootDir>/src/index.ts',
  '^kafkarx/operators$': '<rootDir>/operators/index.ts',
  '^kafkarx/testing$': '<rootDir>/src/testing/index.ts',
};
const common = { transform, moduleNameMapper, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/examples/**/*.test.ts'] },
    // Installs the package into scratch apps from the npm registry: minutes, not seconds.
    { ...common, displayName: 'packaging', testMatch: ['<rootDir>/test/packaging/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/broker/global-setup.ts',
      globalTeardown: '<rootDir>/test/broker/global-teardown.ts',
      slowTestThreshold: 30,
    },
    {
      ...common,
      displayName: 'failover',
      testMatch: ['<rootDir>/test/failover/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/failover/env.ts'],
      globalSetup: '<rootDir>/test/broker/failover-setup.ts',
      globalTeardown: '<rootDir>/test/broker/failover-teardown.ts',
      slowTestThreshold: 120,
    },
  ],
};
