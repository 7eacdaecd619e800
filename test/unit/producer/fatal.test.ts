// Which errors end a stream and the producer (isFatal): who we are and what we may do on the
// cluster, yes; what we may do on one topic, no (its records fail, the others go on).
import { AuthenticationError, TlsError } from '../../../src/network/errors.ts';
import { isFatal, KafkaError } from '../../../src/producer/errors.ts';
import { ErrorCode } from '../../../src/protocol/errors.ts';

test.each([
  ['AuthenticationError', new AuthenticationError('refused'), true],
  ['TlsError', new TlsError('handshake failed'), true],
  ['SASL_AUTHENTICATION_FAILED', new KafkaError(ErrorCode.SASL_AUTHENTICATION_FAILED), true],
  ['CLUSTER_AUTHORIZATION_FAILED', new KafkaError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED), true],
  ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', new KafkaError(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED), true],
  ['TOPIC_AUTHORIZATION_FAILED', new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, undefined, { topic: 't' }), false],
  ['NETWORK_EXCEPTION', new KafkaError(ErrorCode.NETWORK_EXCEPTION), false],
] as const)('%s: fatal %s', (_name, error, fatal) => {
  expect(isFatal(error)).toBe(fatal);
});

test('authentication and TLS errors are not retriable, keep the TLS code and do not serialize their cause', () => {
  const cause = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED', cert: {} as Record<string, unknown> });
  cause.cert.issuerCertificate = cause.cert;
  const e = new TlsError('TLS handshake with b:1 failed: certificate has expired', cause);
  expect(e).toBeInstanceOf(AuthenticationError);
  expect(e.retriable).toBe(false);
  expect(e.tlsCode).toBe('CERT_HAS_EXPIRED');
  expect(e.cause).toBe(cause);
  expect(() => JSON.stringify(e)).not.toThrow();
});
