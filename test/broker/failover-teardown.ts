import { failoverTeardown } from './failover-setup.ts';

/** Stops the 3-node cluster, nodes restarted by the tests included; Jest runs this even when tests failed. */
export default failoverTeardown;
