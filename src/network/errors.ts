import { ErrorCode, KafkaError } from '../protocol/errors.ts';

/**
 * The broker refused who we are: wrong password, unknown user, a SASL mechanism it does not
 * enable, a token it rejects, or a server that could not prove it knows our password (SCRAM).
 * Not retriable and fatal: the same credentials would fail again, so the producer fails at once
 * rather than retrying until a timeout (Java's AuthenticationException). The message carries the
 * broker's explanation, never a credential.
 */
export class AuthenticationError extends KafkaError {
  override name = 'AuthenticationError';
  /** Read by `isFatal`: the producer cannot do anything useful with these credentials. */
  readonly fatal = true;
  /** The SASL mechanism in use, when the failure happened during SASL. */
  readonly mechanism?: string;

  constructor(message: string, options: { mechanism?: string; cause?: unknown } = {}) {
    super(ErrorCode.SASL_AUTHENTICATION_FAILED, message);
    if (options.mechanism !== undefined) this.mechanism = options.mechanism;
    // Not enumerable, as with `new Error(message, { cause })`: JSON.stringify of the error must
    // not walk into node:tls's error, whose certificates refer to each other.
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
  }
}

/**
 * The TLS handshake failed: a certificate we do not trust (unknown CA, expired, issued for
 * another host), a client certificate the broker requires and did not get or refused, or a
 * peer that does not speak TLS on that port. `cause` is node:tls's error. Fatal, as Java's
 * SslAuthenticationException: retrying the same handshake fails the same way.
 */
export class TlsError extends AuthenticationError {
  override name = 'TlsError';
  /** node:tls's (OpenSSL's) code, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`. */
  readonly tlsCode?: string;

  constructor(message: string, cause?: Error) {
    super(message, { cause });
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') this.tlsCode = code;
  }
}

/** Codes of node:tls and OpenSSL that mean the TLS layer, not the network, failed. */
export function isTlsFailure(e: Error): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return /\bSSL\b|\bTLS\b|certificate/i.test(e.message);
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO' || CERT_CODES.has(code);
}

const CERT_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);
