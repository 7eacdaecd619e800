import { bootstrapOf, clusterStateFile, readClusterState, startCluster, stopCluster } from './cluster.ts';

/**
 * Global setup of the `failover` project: a fresh 3-node cluster for the run, its addresses in
 * KAFKARX_CLUSTER_BROKERS and its state file in KAFKARX_CLUSTER_STATE for the test workers. Not in
 * KAFKA_BROKERS: that names the `integration` project's broker when both projects run, and only
 * the failover tests' own setup file (test/failover/env.ts) points it at the cluster.
 * A cluster that cannot start fails the run: integration tests never skip.
 */
export default async function failoverSetup(): Promise<void> {
  const started = Date.now();
  process.env.KAFKARX_CLUSTER_STATE = clusterStateFile();
  const state = await startCluster({ ownerPid: process.pid, log: (l) => process.stderr.write(`${l}\n`) });
  process.env.KAFKARX_CLUSTER_BROKERS = bootstrapOf(state);
  process.stderr.write(`\nkafkarx: 3-node Apache Kafka cluster at ${process.env.KAFKARX_CLUSTER_BROKERS}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
    `logs: ${state.nodes.map((n) => n.logFile).join(', ')}\n`);
}

/** The teardown reads the state file: a node restarted by a test has a new process. */
export async function failoverTeardown(): Promise<void> {
  await stopCluster(readClusterState());
}
