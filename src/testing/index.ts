import '../node-version.ts';
export { FakeKafka, type FakeKafkaOptions, type FakeConnection, type ProducerCalls, type ReceivedRequest, type CommittedOffset, type FakeRecord, type RecordState } from './fake-kafka.ts';
export { runMarbles, type MarbleHelpers } from './virtual-time.ts';
