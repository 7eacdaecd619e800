// Secure clusters against a real Kafka 4.1.1 broker with SSL, mTLS, SASL_PLAINTEXT and SASL_SSL
// listeners (test/broker/security.ts): every SASL mechanism over plaintext and TLS, mTLS, and
// OAUTHBEARER re-authentication during a long stream, read back by Kafka's ConsoleConsumer over
// the PLAINTEXT listener. Every failure is typed, fast, settles, leaks no handle and shows no
// credential.
import { readFileSync } from 'node:fs';
import { from, interval, lastValueFrom, map, of, take, toArray } from 'rxjs';
import { AuthenticationError, createProducer, TlsError, type ProducerConfig, type SaslMechanism } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { BrokerConnection } from '../../src/network/broker.ts';
import { HandshakeDrops } from '../../src/network/handshake-drops.ts';
import { Apis } from '../../src/network/apis.ts';
import { KafkaError } from '../../src/protocol/errors.ts';
import { bootstrap, consumeWithConsoleConsumer, endOffsets, secureBroker, uniqueTopic } from '../broker/reference.ts';
import { captureOutput, renderError, secrets, settles, openSockets, trackHandles, unsecuredJwt } from './security-support.ts';
import { internals } from '../../src/producer/internals.ts';

const s = secureBroker();
const ca = readFileSync(s.certs.ca);
const alice = s.users.alice;

async function produceAndReadBack(config: Partial<ProducerConfig>, n: number): Promise<void> {
  const topic = uniqueTopic('secure');
  const producer = createProducer({ brokers: [], clientId: 'kafkarx-security', ...config } as ProducerConfig);
  try {
    const metas = await lastValueFrom(from(Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: `v${i}` }))).pipe(toKafka(producer), toArray()));
    expect(metas).toHaveLength(n);
  } finally {
    await producer.close();
  }
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: n });
  expect(consumed.map((c) => c.value!.toString()).sort()).toEqual(Array.from({ length: n }, (_, i) => `v${i}`).sort());
}

const mechanisms = {
  plain: { mechanism: 'plain', ...alice },
  'scram-sha-256': { mechanism: 'scram-sha-256', ...alice },
  'scram-sha-512': { mechanism: 'scram-sha-512', ...alice },
  oauthbearer: { mechanism: 'oauthbearer', token: async () => ({ value: unsecuredJwt(alice.username), lifetimeMs: 3_600_000 }) },
} as const;

describe('produce and read back', () => {
  test.each(Object.keys(mechanisms).flatMap((m) => [[m, 'SASL_PLAINTEXT'], [m, 'SASL_SSL']]))('SASL %s over %s', async (mechanism, listener) => {
    const tls = listener === 'SASL_SSL';
    await produceAndReadBack({
      brokers: [tls ? s.listeners.saslSsl : s.listeners.saslPlaintext],
      ...(tls ? { tls: { ca } } : {}),
      sasl: mechanisms[mechanism as keyof typeof mechanisms] as ProducerConfig['sasl'],
    }, 2000);
  }, 60_000);

  test('SSL with the CA only; the KafkaJS spelling `ssl` works the same', async () => {
    await produceAndReadBack({ brokers: [s.listeners.ssl], tls: { ca } }, 1000);
    await produceAndReadBack({ brokers: [s.listeners.ssl], ssl: { ca } }, 1000);
  }, 60_000);

  test('mTLS with a client certificate, and with an encrypted key and its passphrase', async () => {
    const cert = readFileSync(s.certs.clientCert);
    await produceAndReadBack({ brokers: [s.listeners.mtls], tls: { ca, cert, key: readFileSync(s.certs.clientKey) } }, 1000);
    await produceAndReadBack({ brokers: [s.listeners.mtls], tls: { ca, cert, key: readFileSync(s.certs.clientKeyEncrypted), passphrase: s.clientKeyPassphrase } }, 1000);
  }, 60_000);

  test('a custom mechanism through the SaslMechanism interface (PLAIN written by hand)', async () => {
    const names: string[] = [];
    const custom: SaslMechanism = {
      mechanism: 'PLAIN',
      async authenticate({ host, port, send }) {
        names.push(`${host}:${port}`);
        const answer = await send(Buffer.from(`\0${alice.username}\0${alice.password}`));
        expect(answer).toHaveLength(0);
      },
    };
    await produceAndReadBack({ brokers: [s.listeners.saslPlaintext], sasl: custom }, 500);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => n === s.listeners.saslPlaintext)).toBe(true);
  }, 60_000);
});

test('OAUTHBEARER: the connection re-authenticates in place during a long stream (session lifetime from connections.max.reauth.ms)', async () => {
  const topic = uniqueTopic('reauth');
  let tokens = 0;
  const producer = createProducer({
    brokers: [s.listeners.reauth], clientId: 'kafkarx-reauth', lingerMs: 20,
    sasl: { mechanism: 'oauthbearer', token: async () => (tokens++, { value: unsecuredJwt(alice.username) }) },
  });
  try {
    await producer.send({ topic, value: 'first' });
    const nodeId = [...Array(10).keys()].find((id) => internals(producer).cluster.readyConnection(id));
    const conn = internals(producer).cluster.readyConnection(nodeId!)!;
    let closed = false;
    conn.connection.onClose(() => (closed = true));
    const tokensAtStart = tokens;
    // 3.5 session lifetimes of steady traffic, so requests are in flight when re-authentication starts.
    const durationMs = s.reauthMs * 3.5;
    const n = Math.round(durationMs / 5);
    const metas = await lastValueFrom(interval(5).pipe(take(n), map((i) => ({ topic, value: `r${i}` })), toKafka(producer), toArray()));
    expect(metas).toHaveLength(n);
    // The same connection carried the whole stream and authenticated again at least three times.
    expect(closed).toBe(false);
    expect(internals(producer).cluster.readyConnection(nodeId!)).toBe(conn);
    expect(tokens - tokensAtStart).toBeGreaterThanOrEqual(3);
    const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: n + 1 });
    const values = consumed.map((c) => c.value!.toString());
    expect(new Set(values).size).toBe(n + 1);
    expect(values).toHaveLength(n + 1);
  } finally {
    await producer.close();
  }
}, 120_000);

interface FailureCase {
  name: string;
  config: Partial<ProducerConfig>;
  type: typeof AuthenticationError;
  message: RegExp;
  /** Credentials of this case that must not show up. */
  secrets?: string[];
}

const WRONG = 'wrong-pw-Qx93kL';
const badToken = unsecuredJwt(alice.username, 60, 3600);
const otherCa = () => readFileSync(s.certs.otherCa);
const failures: FailureCase[] = [
  { name: 'PLAIN, wrong password', config: { brokers: [s.listeners.saslPlaintext], sasl: { mechanism: 'plain', username: 'alice', password: WRONG } }, type: AuthenticationError, message: /SASL PLAIN authentication to .* failed: Authentication failed: Invalid username or password/, secrets: [WRONG] },
  { name: 'SCRAM-SHA-256, wrong password', config: { brokers: [s.listeners.saslPlaintext], sasl: { mechanism: 'scram-sha-256', username: 'alice', password: WRONG } }, type: AuthenticationError, message: /SASL SCRAM-SHA-256 authentication to .* failed: .*invalid credentials/, secrets: [WRONG] },
  { name: 'SCRAM-SHA-512 over TLS, wrong password', config: { brokers: [s.listeners.saslSsl], tls: { ca }, sasl: { mechanism: 'scram-sha-512', username: 'alice', password: WRONG } }, type: AuthenticationError, message: /SASL SCRAM-SHA-512 authentication to .* failed/, secrets: [WRONG] },
  { name: 'SCRAM-SHA-256, unknown user', config: { brokers: [s.listeners.saslPlaintext], sasl: { mechanism: 'scram-sha-256', username: 'mallory', password: WRONG } }, type: AuthenticationError, message: /SASL SCRAM-SHA-256 authentication to .* failed/, secrets: [WRONG] },
  { name: 'mechanism not enabled', config: { brokers: [s.listeners.saslPlaintext], sasl: { mechanism: 'GSSAPI', authenticate: async () => undefined } }, type: AuthenticationError, message: /SASL mechanism GSSAPI is not enabled on broker .*; it enables (?=.*PLAIN)(?=.*SCRAM-SHA-256)(?=.*SCRAM-SHA-512)(?=.*OAUTHBEARER)/ },
  { name: 'OAUTHBEARER, expired token', config: { brokers: [s.listeners.saslPlaintext], sasl: { mechanism: 'oauthbearer', token: async () => ({ value: badToken }) } }, type: AuthenticationError, message: /SASL OAUTHBEARER authentication to .* failed/, secrets: [badToken, badToken.split('.')[1]] },
  { name: 'OAUTHBEARER, token provider fails', config: { brokers: [s.listeners.saslPlaintext], sasl: { mechanism: 'oauthbearer', token: async () => { throw new Error('identity provider unreachable'); } } }, type: AuthenticationError, message: /SASL OAUTHBEARER authentication to .* failed: identity provider unreachable/ },
  { name: 'TLS, unknown CA', config: { brokers: [s.listeners.ssl], tls: { ca: otherCa() } }, type: TlsError, message: /TLS handshake with .* failed: self-signed certificate in certificate chain/ },
  { name: 'TLS, expired certificate', config: { brokers: [s.listeners.expired], tls: { ca } }, type: TlsError, message: /TLS handshake with .* failed: certificate has expired/ },
  { name: 'TLS, host name mismatch', config: { brokers: [s.listeners.wrongHost], tls: { ca } }, type: TlsError, message: /TLS handshake with .* failed: Hostname\/IP does not match certificate's altnames/ },
  { name: 'mTLS without a client certificate', config: { brokers: [s.listeners.mtls], tls: { ca } }, type: TlsError, message: /TLS handshake with .* failed: .*alert (bad certificate|certificate required)/ },
  { name: 'mTLS with a client certificate the broker does not trust', config: { brokers: [s.listeners.mtls], tls: { ca, cert: otherCa(), key: readFileSync(s.certs.otherCaKey) } }, type: TlsError, message: /TLS handshake with .* failed: .*alert (bad certificate|unknown ca|certificate unknown)/ },
  { name: 'mTLS with a key that does not match the certificate', config: { brokers: [s.listeners.mtls], tls: { ca, cert: readFileSync(s.certs.clientCert), key: readFileSync(s.certs.otherCaKey) } }, type: TlsError, message: /the TLS settings for .* are not usable: .*key values mismatch/ },
  { name: 'mTLS with a wrong key passphrase', config: { brokers: [s.listeners.mtls], tls: { ca, cert: readFileSync(s.certs.clientCert), key: readFileSync(s.certs.clientKeyEncrypted), passphrase: WRONG } }, type: TlsError, message: /the TLS settings for .* are not usable/, secrets: [WRONG] },
  { name: 'plaintext client on a TLS listener', config: { brokers: [s.listeners.ssl] }, type: TlsError, message: /answered with TLS: the listener may require TLS/ },
  { name: 'SASL without TLS on a SASL_SSL listener', config: { brokers: [s.listeners.saslSsl], sasl: { mechanism: 'plain', ...alice } }, type: TlsError, message: /answered with TLS: the listener may require TLS/ },
  { name: 'plaintext client on a SASL listener', config: { brokers: [s.listeners.saslPlaintext] }, type: AuthenticationError, message: /closed the connection after ApiVersions.*the listener may require TLS or SASL/ },
  { name: 'TLS client on a plaintext listener', config: { brokers: [bootstrap()], tls: { ca } }, type: TlsError, message: /TLS handshake with .* failed/ },
];

/** Measured times, printed after the run for the report. */
const timings: Array<{ name: string; readyMs: number; streamMs: number; closeMs: number; error: string }> = [];
afterAll(() => {
  process.stderr.write(`\nsecurity failure cases (ms): ${JSON.stringify(timings, null, 1)}\n`);
});

describe('failures are typed, fast, settle, leak nothing and show no credential', () => {
  test.each(failures.map((f) => [f.name, f] as const))('%s', async (_name, f) => {
    const sockets = openSockets();
    const handles = trackHandles();
    const { value: r, output } = await captureOutput(async () => {
      const producer = createProducer({ clientId: 'kafkarx-security-failure', maxBlockMs: 60_000, ...f.config } as ProducerConfig);
      const ready = await settles('ready()', producer.ready(), 20_000);
      const stream = await settles('a stream', lastValueFrom(of({ topic: uniqueTopic('never'), value: 'x' }).pipe(toKafka(producer))), 20_000);
      const close = await settles('close()', producer.close(), 20_000);
      // Destroy hooks run asynchronously after the release: one turn of the loop.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      return { ready, stream, close, live: handles.live(), sockets: openSockets() };
    });
    handles.stop();
    for (const outcome of [r.ready, r.stream]) {
      expect(outcome.error).toBeInstanceOf(f.type);
      const e = outcome.error as AuthenticationError;
      expect(e.message).toMatch(f.message);
      expect(e.retriable).toBe(false);
      expect(e.fatal).toBe(true);
      // One connection attempt, no retry loop: well under maxBlockMs (60 s).
      expect(outcome.ms).toBeLessThan(5000);
    }
    // node:tls's own error, when it raised one, is kept as the cause.
    if (f.type === TlsError && !/answered with TLS/.test(f.message.source)) expect(typeof ((r.ready.error as TlsError).cause as { code?: unknown })?.code).toBe('string');
    expect(r.close.error).toBeUndefined();
    // Only handles kafkarx made (created under src/ or operators/) count; jest's own timers do not.
    expect(r.live.filter((h) => /\/(src|operators)\//.test(h))).toEqual([]);
    expect(r.sockets).toBe(sockets);
    const everything = `${output}\n${renderError(r.ready.error)}\n${renderError(r.stream.error)}`;
    for (const secret of secrets(f.secrets)) expect(everything.includes(secret) ? secret : 'absent').toBe('absent');
    timings.push({ name: f.name, readyMs: r.ready.ms, streamMs: r.stream.ms, closeMs: r.close.ms, error: `${(r.ready.error as Error).name}: ${(r.ready.error as Error).message}` });
  }, 90_000);
});

test('a re-authentication the broker refuses ends the stream with AuthenticationError at once; what was reported is what was written', async () => {
  const topic = uniqueTopic('reauth-refused');
  let tokens = 0;
  const producer = createProducer({
    brokers: [s.listeners.reauth], clientId: 'kafkarx-reauth-refused', lingerMs: 20,
    // The first token is good; the identity provider then hands out expired ones.
    sasl: { mechanism: 'oauthbearer', token: async () => ({ value: tokens++ === 0 ? unsecuredJwt(alice.username) : badToken }) },
  });
  const acknowledged: string[] = [];
  const started = performance.now();
  let error: unknown;
  try {
    await lastValueFrom(interval(5).pipe(take(20_000), map((i) => ({ topic, value: `r${i}` })), toKafka(producer), map((m) => acknowledged.push(`r${m.offset}`))));
  } catch (e) {
    error = e;
  } finally {
    await producer.close();
  }
  const elapsed = performance.now() - started;
  expect(error).toBeInstanceOf(AuthenticationError);
  expect((error as Error).message).toMatch(/SASL OAUTHBEARER authentication to .* failed/);
  // Re-authentication starts at 85-95 % of the session lifetime: the failure follows within seconds, not after deliveryTimeoutMs.
  expect(elapsed).toBeLessThan(s.reauthMs + 5000);
  timings.push({ name: 're-authentication refused mid-stream (from stream start; session 6 s)', readyMs: 0, streamMs: Math.round(elapsed), closeMs: 0, error: `${(error as Error).name}: ${(error as Error).message}` });
  expect(acknowledged.length).toBeGreaterThan(0);
  expect((await endOffsets(topic)).get(0)).toBe(acknowledged.length);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: acknowledged.length });
  expect(consumed.map((c) => `r${c.offset}`).sort()).toEqual([...acknowledged].sort());
}, 120_000);

test('a SASL listener dropping a plaintext client after ApiVersions: explained and retriable once, fatal on the next connection', async () => {
  const [host, port] = s.listeners.saslPlaintext.split(':');
  // The history of drops a cluster keeps for its connections, shared by the two as a producer's are.
  const options = { host, port: Number(port), clientId: 'kafkarx-drop', connectTimeoutMs: 5000, requestTimeoutMs: 5000, maxInFlight: 5, handshakeDrops: new HandshakeDrops() };
  const metadata = { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
  const first = await BrokerConnection.open(1, options);
  // Two requests on the same connection share one verdict.
  const [a, b] = await Promise.all([first.call(Apis.metadata, metadata).catch((e: unknown) => e), first.call(Apis.metadata, metadata).catch((e: unknown) => e)]);
  await first.close();
  for (const e of [a, b]) {
    expect(e).toBeInstanceOf(KafkaError);
    expect(e).not.toBeInstanceOf(AuthenticationError);
    expect((e as KafkaError).retriable).toBe(true);
    expect((e as Error).message).toMatch(/closed the connection after ApiVersions.*the listener may require TLS or SASL/);
  }
  const second = await BrokerConnection.open(1, options);
  const e = await second.call(Apis.metadata, metadata).catch((x: unknown) => x);
  await second.close();
  expect(e).toBeInstanceOf(AuthenticationError);
  expect((e as AuthenticationError).retriable).toBe(false);
}, 30_000);
