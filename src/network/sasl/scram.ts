import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { AuthenticationError } from '../errors.ts';
import type { SaslMechanism } from './mechanism.ts';

const pbkdf2Async = promisify(pbkdf2);

export type ScramHash = 'sha256' | 'sha512';

const NAMES: Record<ScramHash, string> = { sha256: 'SCRAM-SHA-256', sha512: 'SCRAM-SHA-512' };
const KEY_LENGTH: Record<ScramHash, number> = { sha256: 32, sha512: 64 };
/** Kafka's ScramMechanism refuses fewer; a server offering fewer is not a Kafka we trust. */
const MIN_ITERATIONS = 4096;
/** A bound on the work a hostile server can make us do (Kafka's own maximum is 16384). */
const MAX_ITERATIONS = 1_000_000;

/**
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka's ScramSaslClient: no channel
 * binding, the password salted with PBKDF2, and the server's final signature checked, so a
 * server that does not know the password (a spoofed broker) is refused. `nonce` is for tests
 * (RFC 7677's test vector); each exchange gets a fresh random one otherwise.
 */
export function scram(hash: ScramHash, username: string, password: string, nonce?: () => string): SaslMechanism {
  const mechanism = NAMES[hash];
  const makeNonce = nonce ?? (() => randomBytes(24).toString('base64url'));
  return {
    mechanism,
    async authenticate({ send }) {
      const clientNonce = makeNonce();
      const clientFirstBare = `n=${saslName(username)},r=${clientNonce}`;
      const serverFirst = (await send(Buffer.from(`n,,${clientFirstBare}`, 'utf8'))).toString('utf8');
      const first = parseAttributes(serverFirst, mechanism);
      const serverNonce = first.get('r');
      const salt = first.get('s');
      const iterations = Number(first.get('i'));
      if (!serverNonce || !serverNonce.startsWith(clientNonce) || serverNonce.length === clientNonce.length) {
        throw refused(mechanism, 'the server\'s nonce does not extend ours');
      }
      if (!salt || !Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
        throw refused(mechanism, `the server's first message has no salt or an iteration count outside ${MIN_ITERATIONS}..${MAX_ITERATIONS}`);
      }
      const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), Buffer.from(salt, 'base64'), iterations, KEY_LENGTH[hash], hash);
      const clientFinalWithoutProof = `c=biws,r=${serverNonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
      const clientKey = hmac(hash, salted, 'Client Key');
      const clientSignature = hmac(hash, createHash(hash).update(clientKey).digest(), authMessage);
      const proof = Buffer.alloc(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ clientSignature[i];
      const serverFinal = (await send(Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8'))).toString('utf8');
      const final = parseAttributes(serverFinal, mechanism);
      const error = final.get('e');
      if (error !== undefined) throw refused(mechanism, `the server refused: ${error}`);
      const expected = hmac(hash, hmac(hash, salted, 'Server Key'), authMessage);
      const got = Buffer.from(final.get('v') ?? '', 'base64');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        throw refused(mechanism, 'the server\'s final signature is wrong: it could not prove that it knows the password (is this the right broker?)');
      }
    },
  };
}

function hmac(hash: ScramHash, key: Buffer, data: string): Buffer {
  return createHmac(hash, key).update(data, 'utf8').digest();
}

/** RFC 5802 5.1: ',' and '=' in a user name are escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** `a=1,b=2` into a map; values may contain '='. Extensions the server adds are ignored. */
function parseAttributes(message: string, mechanism: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) throw refused(mechanism, 'the server sent a malformed SCRAM message');
    out.set(part[0], part.slice(2));
  }
  return out;
}

function refused(mechanism: string, why: string): AuthenticationError {
  return new AuthenticationError(`${mechanism} authentication failed: ${why}`, { mechanism });
}
