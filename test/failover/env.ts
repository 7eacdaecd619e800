// Runs in each failover test file's environment (Jest gives every file its own copy of
// process.env): the reference tools (ConsoleConsumer, TopicCommand) read KAFKA_BROKERS.
const cluster = process.env.KAFKARX_CLUSTER_BROKERS;
if (!cluster) throw new Error('KAFKARX_CLUSTER_BROKERS is not set: failover tests run under the jest failover project, whose global setup starts the 3-node cluster');
process.env.KAFKA_BROKERS = cluster;
