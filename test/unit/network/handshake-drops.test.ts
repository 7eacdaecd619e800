// The "two strikes" reading of a connection dropped at its first request after ApiVersions (a
// listener that wants SASL or TLS): the history is the cluster's, so one producer's drops never
// turn another producer's single drop into a fatal AuthenticationError. Against two FakeKafkas
// with the same broker addresses, each dropping the connection after its first Metadata request.
import { AuthenticationError, createProducer, type Producer } from 'kafkarx';
import { FakeKafka } from 'kafkarx/testing';

const fakes: FakeKafka[] = [];
const producers: Producer[] = [];
afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close()));
  for (const f of fakes.splice(0)) f.close();
});

/** A producer whose cluster drops the connection after the first `drops` Metadata requests. */
function producerDropping(drops: number): Producer {
  const fake = new FakeKafka({ brokers: 1, topics: { t: 1 } });
  fake.dropConnectionAfter('Metadata', drops);
  fakes.push(fake);
  const producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, idempotent: false, acks: 1, logger: null, retryBackoffMs: 10, reconnectBackoffMs: 10, maxBlockMs: 5000 });
  producers.push(producer);
  return producer;
}

test('two producers at the same address, each dropped once after the handshake at the same time: neither is told to use SASL, both deliver', async () => {
  // Both drops come before either producer's retry is answered (as when a broker restarts under
  // two producers starting up): a history shared by the process read them as one listener dropping twice.
  const [a, b] = [producerDropping(1), producerDropping(1)];
  const sent = await Promise.all([a.send({ topic: 't', value: 'a' }), b.send({ topic: 't', value: 'b' })].map((p) => p.catch((e: unknown) => e)));
  expect(sent.map((m) => (m instanceof Error ? `${m.name}: ${m.message}` : (m as { offset: number }).offset))).toEqual([0, 0]);
});

test('one producer dropped twice in a row after the handshake: the second drop is an AuthenticationError naming SASL or TLS', async () => {
  const p = producerDropping(2);
  const error = await p.send({ topic: 't', value: 'x' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AuthenticationError);
  expect((error as Error).message).toMatch(/closed the connection after ApiVersions.*may require TLS or SASL/);
});
