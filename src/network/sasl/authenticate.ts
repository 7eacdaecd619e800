import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import { Apis, type Api } from '../apis.ts';
import { AuthenticationError } from '../errors.ts';
import type { SaslMechanism } from './mechanism.ts';

/** How the exchange reaches the broker: a call at a negotiated version. */
export interface SaslTransport {
  readonly host: string;
  readonly port: number;
  version(api: Api<never, unknown>): number;
  call<Req, Res>(api: Api<Req, Res>, request: Req, version: number): Promise<Res>;
}

/**
 * SaslHandshake, then the mechanism's messages in SaslAuthenticate requests (v1+, so the broker
 * tells us the session lifetime, KIP-368). Resolves with that lifetime in ms, 0 when the broker
 * sets none. Every refusal becomes an AuthenticationError; a broken connection stays the
 * (retriable) network error it is.
 */
export async function authenticate(transport: SaslTransport, mechanism: SaslMechanism): Promise<number> {
  const name = mechanism.mechanism;
  const where = `${transport.host}:${transport.port}`;
  const handshakeVersion = transport.version(Apis.saslHandshake as Api<never, unknown>);
  const authVersion = transport.version(Apis.saslAuthenticate as Api<never, unknown>);
  if (handshakeVersion < 1 || authVersion < 1) {
    throw new AuthenticationError(`broker ${where} does not speak SaslHandshake v1 and SaslAuthenticate v1 (Kafka 2.0+), which kafkarx needs for SASL`, { mechanism: name });
  }
  const hs = await transport.call(Apis.saslHandshake, { mechanism: name }, handshakeVersion);
  if (hs.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
    throw new AuthenticationError(`SASL mechanism ${name} is not enabled on broker ${where}; it enables ${hs.mechanisms.length > 0 ? hs.mechanisms.join(', ') : 'none'}`, { mechanism: name });
  }
  if (hs.errorCode !== ErrorCode.NONE) {
    throw new AuthenticationError(`SaslHandshake with broker ${where} for ${name} failed: ${new KafkaError(hs.errorCode).message}`, { mechanism: name });
  }
  let lifetimeMs = 0;
  const send = async (message: Uint8Array): Promise<Buffer> => {
    const res = await transport.call(Apis.saslAuthenticate, { authBytes: message }, authVersion);
    if (res.errorCode !== ErrorCode.NONE) {
      const why = res.errorMessage ?? new KafkaError(res.errorCode).message;
      throw new AuthenticationError(`SASL ${name} authentication to ${where} failed: ${why}`, { mechanism: name });
    }
    lifetimeMs = Number(res.sessionLifetimeMs);
    return res.authBytes;
  };
  try {
    await mechanism.authenticate({ host: transport.host, port: transport.port, send });
  } catch (e) {
    if (e instanceof AuthenticationError || (e instanceof KafkaError && e.retriable)) throw e;
    throw new AuthenticationError(`SASL ${name} authentication to ${where} failed: ${(e as Error)?.message ?? String(e)}`, { mechanism: name, cause: e });
  }
  return lifetimeMs;
}
