// tls, ssl and sasl settings: mistakes fail createProducer() with a ConfigError naming the
// setting, and no message repeats a credential.
import { inspect } from 'node:util';
import { resolveConfig, type ProducerConfig } from '../../../src/producer/config.ts';
import { ConfigError } from '../../../src/producer/errors.ts';

const base = { brokers: ['127.0.0.1:9092'] };
const resolve = (extra: Record<string, unknown>) => resolveConfig({ ...base, ...extra } as ProducerConfig);
const SECRET = 'pw-Do-Not-Leak-42';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function errorOf(extra: Record<string, unknown>): Error {
  try {
    resolve(extra);
  } catch (e) {
    return e as Error;
  }
  throw new Error('no error');
}

describe('tls', () => {
  test.each([
    [{ tls: 'true' }, /^tls: expected true, false or an object of node:tls options, got a string$/],
    [{ tls: 1 }, /^tls: expected true, false or an object.*got number$/],
    [{ tls: null }, /^tls: expected true, false or an object.*got null$/],
    [{ tls: [] }, /^tls: expected true, false or an object.*got an array$/],
    [{ tls: { ca: '/etc/kafka/ca.pem' } }, /^tls\.ca: expected the PEM text itself.*file path: read the file, e\.g\. ca: fs\.readFileSync\(path\)$/],
    [{ tls: { ca: [PEM, './other-ca.pem'] } }, /^tls\.ca: expected the PEM text itself/],
    [{ tls: { cert: 'client.crt', key: PEM } }, /^tls\.cert: expected the PEM text itself/],
    [{ tls: { cert: PEM, key: 'client.key' } }, /^tls\.key: expected the PEM text itself/],
    [{ tls: { pfx: '/secrets/client.p12' } }, /^tls\.pfx: expected the PKCS#12 bytes itself, but got a string that looks like a file path/],
    [{ tls: { ca: 42 } }, /^tls\.ca: expected PEM text or a Buffer, got number$/],
    [{ tls: { passphrase: 1234 } }, /^tls\.passphrase: expected a string$/],
    [{ ssl: 'yes' }, /^ssl: expected true, false or an object/],
    [{ ssl: { key: 'key.pem' } }, /^ssl\.key: /],
    [{ tls: true, ssl: true }, /^tls and ssl: give one of them/],
  ])('%j is a ConfigError', (extra, message) => {
    const e = errorOf(extra);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(message);
  });

  test('PEM text, Buffers, key objects and booleans are accepted; ssl is an alias of tls', () => {
    expect(resolve({}).tls).toBe(false);
    expect(resolve({ tls: true }).tls).toBe(true);
    const opts = { ca: [PEM, Buffer.from(PEM)], cert: PEM, key: [{ pem: '-----BEGIN PRIVATE KEY-----\n', passphrase: 'x' }], pfx: Buffer.from([0x30]), rejectUnauthorized: true };
    expect(resolve({ tls: opts }).tls).toBe(opts);
    expect(resolve({ ssl: opts }).tls).toBe(opts);
    expect(resolve({ ssl: true }).tls).toBe(true);
  });

  test('a key that is not PEM is never repeated in the message', () => {
    const e = errorOf({ tls: { key: SECRET } });
    expect(e.message).not.toContain(SECRET);
  });
});

describe('sasl', () => {
  test.each([
    [{ sasl: 'plain' }, /^sasl: expected an object such as \{ mechanism: 'scram-sha-512', username, password \}, got string$/],
    [{ sasl: null }, /^sasl: expected an object.*got null$/],
    [{ sasl: { username: 'u', password: SECRET } }, /^sasl\.mechanism: expected 'plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'/],
    [{ sasl: { mechanism: 'gssapi', username: 'u', password: SECRET } }, /^sasl\.mechanism: "gssapi" is not built in/],
    [{ sasl: { mechanism: 'plain', username: 'u' } }, /^sasl\.password: expected a non-empty string for SASL plain$/],
    [{ sasl: { mechanism: 'scram-sha-256', password: SECRET } }, /^sasl\.username: expected a non-empty string for SASL scram-sha-256$/],
    [{ sasl: { mechanism: 'scram-sha-512', username: 'u', password: 42 } }, /^sasl\.password: expected a non-empty string/],
    [{ sasl: { mechanism: 'plain', user: 'u', password: SECRET } }, /^sasl\.user: not a setting of SASL plain \(expected mechanism, username, password\)$/],
    [{ sasl: { mechanism: 'oauthbearer' } }, /^sasl\.token: expected an async function returning \{ value, lifetimeMs\?, extensions\? \}$/],
    [{ sasl: { mechanism: 'oauthbearer', token: SECRET } }, /^sasl\.token: expected an async function/],
    [{ sasl: { mechanism: 'oauthbearer', token: async () => ({ value: 'x' }), oauthBearerProvider: async () => ({ value: 'x' }) } }, /^sasl\.token and sasl\.oauthBearerProvider: give one of them/],
    [{ sasl: { mechanism: '', authenticate: async () => undefined } }, /^sasl\.mechanism: expected/],
  ])('%j is a ConfigError without the credential', (extra, message) => {
    const e = errorOf(extra);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(message);
    expect(`${e.message}${e.stack}${inspect(e, { depth: 10 })}`).not.toContain(SECRET);
  });

  test('built-in mechanisms resolve by name, case-insensitively; a custom one is used as given', () => {
    expect(resolve({}).sasl).toBeUndefined();
    expect(resolve({ sasl: { mechanism: 'plain', username: 'u', password: SECRET } }).sasl!.mechanism).toBe('PLAIN');
    expect(resolve({ sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: SECRET } }).sasl!.mechanism).toBe('SCRAM-SHA-256');
    expect(resolve({ sasl: { mechanism: 'scram-sha-512', username: 'u', password: SECRET } }).sasl!.mechanism).toBe('SCRAM-SHA-512');
    expect(resolve({ sasl: { mechanism: 'oauthbearer', token: async () => ({ value: 't' }) } }).sasl!.mechanism).toBe('OAUTHBEARER');
    expect(resolve({ sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 't' }) } }).sasl!.mechanism).toBe('OAUTHBEARER');
    const custom = { mechanism: 'AWS_MSK_IAM', authenticate: async () => undefined };
    expect(resolve({ sasl: custom }).sasl).toBe(custom);
  });

  test('the resolved configuration does not show the password', () => {
    const c = resolve({ sasl: { mechanism: 'scram-sha-512', username: 'u', password: SECRET } });
    expect(inspect(c, { depth: 10, showHidden: true })).not.toContain(SECRET);
    expect(JSON.stringify(c)).not.toContain(SECRET);
  });
});
