import type { SaslMechanism } from './mechanism.ts';

/**
 * PLAIN (RFC 4616): authorization id (empty: the same as the user), user and password in one
 * message. The broker answers with nothing or refuses; use it over TLS only.
 */
export function plain(username: string, password: string): SaslMechanism {
  return {
    mechanism: 'PLAIN',
    async authenticate({ send }) {
      await send(Buffer.from(`\0${username}\0${password}`, 'utf8'));
    },
  };
}
