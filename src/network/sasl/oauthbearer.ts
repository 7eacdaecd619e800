import type { SaslMechanism } from './mechanism.ts';

/** What a token provider returns: the token, and optionally its lifetime and SASL extensions. */
export interface OauthBearerToken {
  /** The bearer token (a JWT for most providers). */
  value: string;
  /** How long the token stays valid, in ms: informational; the broker's session lifetime governs re-authentication. */
  lifetimeMs?: number;
  /** SASL extensions (KIP-342), e.g. Confluent Cloud's `logicalCluster` and `identityPoolId`. */
  extensions?: Record<string, string>;
}

export type OauthBearerTokenProvider = () => Promise<OauthBearerToken>;

const SEP = '\u0001';
/** RFC 7628 3.1: extension keys are letters; Kafka reserves `auth`. */
const KEY = /^[A-Za-z]+$/;
/** RFC 7628 3.1: values are printable ASCII, space, tab, CR and LF. */
const VALUE = /^[\x21-\x7E \t\r\n]*$/;

/**
 * OAUTHBEARER (RFC 7628, KIP-255) with a token from the user's provider, asked again for every
 * connection and re-authentication, so a provider that caches and refreshes its token decides
 * when a new one is used. When the broker refuses the token it sends an error document instead
 * of an empty answer; the RFC has the client acknowledge it with a lone separator, after which
 * the broker fails the exchange with its message.
 */
export function oauthbearer(provider: OauthBearerTokenProvider): SaslMechanism {
  return {
    mechanism: 'OAUTHBEARER',
    async authenticate({ send }) {
      const token = await provider();
      if (!token || typeof token.value !== 'string' || token.value.length === 0) {
        throw new TypeError('the OAUTHBEARER token provider returned no token: expected { value: string, lifetimeMs?, extensions? }');
      }
      let message = `n,,${SEP}auth=Bearer ${token.value}${SEP}`;
      for (const [key, value] of Object.entries(token.extensions ?? {})) {
        if (!KEY.test(key) || key === 'auth') throw new TypeError(`the OAUTHBEARER extension name ${JSON.stringify(key)} is not allowed: letters only, and not "auth"`);
        if (typeof value !== 'string' || !VALUE.test(value)) throw new TypeError(`the value of OAUTHBEARER extension ${JSON.stringify(key)} must be printable ASCII`);
        message += `${key}=${value}${SEP}`;
      }
      const answer = await send(Buffer.from(message + SEP, 'utf8'));
      // A non-empty answer is the error document; acknowledging it makes the broker reject us
      // with its reason, which `send` turns into an AuthenticationError.
      if (answer.length > 0) {
        await send(Buffer.from(SEP, 'utf8'));
        throw new TypeError(`the broker refused the OAUTHBEARER token: ${answer.toString('utf8').slice(0, 500)}`);
      }
    },
  };
}
