import { inspect } from 'node:util';
import { AuthenticationError } from '../../../src/network/errors.ts';
import { authenticate, type SaslTransport } from '../../../src/network/sasl/authenticate.ts';
import type { SaslExchange } from '../../../src/network/sasl/mechanism.ts';
import { oauthbearer } from '../../../src/network/sasl/oauthbearer.ts';
import { plain } from '../../../src/network/sasl/plain.ts';
import { scram } from '../../../src/network/sasl/scram.ts';
import { ErrorCode, KafkaError } from '../../../src/protocol/errors.ts';

/** A scripted server: answers each message in turn and records what the client sent. */
function server(answers: string[]): SaslExchange & { sent: string[] } {
  const sent: string[] = [];
  return {
    host: 'broker.test',
    port: 9096,
    sent,
    async send(message) {
      sent.push(Buffer.from(message).toString('utf8'));
      const next = answers.shift();
      if (next === undefined) throw new Error('the client sent more messages than the script has answers');
      return Buffer.from(next, 'utf8');
    },
  };
}

// RFC 7677 section 3: user "user", password "pencil".
const RFC7677 = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('SCRAM', () => {
  test('SCRAM-SHA-256 reproduces the RFC 7677 exchange and accepts the server signature', async () => {
    const s = server([RFC7677.serverFirst, RFC7677.serverFinal]);
    await scram('sha256', 'user', 'pencil', () => RFC7677.clientNonce).authenticate(s);
    expect(s.sent).toEqual([RFC7677.clientFirst, RFC7677.clientFinal]);
  });

  test('a server with a wrong final signature (one that does not know the password) is refused', async () => {
    const wrong = 'v=' + Buffer.alloc(32, 7).toString('base64');
    const s = server([RFC7677.serverFirst, wrong]);
    const e = await scram('sha256', 'user', 'pencil', () => RFC7677.clientNonce).authenticate(s).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AuthenticationError);
    expect((e as Error).message).toMatch(/final signature is wrong/);
    // The same exchange with the right signature but a different password on our side fails too.
    const s2 = server([RFC7677.serverFirst, RFC7677.serverFinal]);
    await expect(scram('sha256', 'user', 'pencil2', () => RFC7677.clientNonce).authenticate(s2)).rejects.toThrow(/final signature is wrong/);
  });

  test('a server-final error, a nonce that does not extend ours and too few iterations are refused', async () => {
    await expect(scram('sha256', 'user', 'pencil', () => RFC7677.clientNonce).authenticate(server([RFC7677.serverFirst, 'e=invalid-proof'])))
      .rejects.toThrow(/the server refused: invalid-proof/);
    await expect(scram('sha256', 'user', 'pencil', () => RFC7677.clientNonce).authenticate(server(['r=someoneElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'])))
      .rejects.toThrow(/nonce/);
    await expect(scram('sha256', 'user', 'pencil', () => RFC7677.clientNonce).authenticate(server([`r=${RFC7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1`])))
      .rejects.toThrow(/iteration count/);
    await expect(scram('sha512', 'user', 'pencil', () => RFC7677.clientNonce).authenticate(server(['garbage'])))
      .rejects.toThrow(/malformed/);
  });

  test('SCRAM-SHA-512 escapes the user name and uses 64-byte keys', async () => {
    const s = server([`r=${RFC7677.clientNonce}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, 'v=AAAA']);
    await expect(scram('sha512', 'a=b,c', 'pw', () => RFC7677.clientNonce).authenticate(s)).rejects.toThrow(AuthenticationError);
    expect(s.sent[0]).toBe(`n,,n=a=3Db=2Cc,r=${RFC7677.clientNonce}`);
    const proof = Buffer.from(/p=(.*)$/.exec(s.sent[1])![1], 'base64');
    expect(proof).toHaveLength(64);
  });

  test('every exchange gets a fresh random nonce', async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const s = server(['garbage']);
      await scram('sha256', 'user', 'pencil').authenticate(s).catch(() => undefined);
      nonces.add(/r=(.*)$/.exec(s.sent[0])![1]);
    }
    expect(nonces.size).toBe(3);
  });
});

test('PLAIN sends authzid, user and password separated by NUL', async () => {
  const s = server(['']);
  await plain('alice', 'secret').authenticate(s);
  expect(s.sent).toEqual(['\0alice\0secret']);
});

describe('OAUTHBEARER', () => {
  test('sends the token and the extensions in the RFC 7628 layout, asking the provider each time', async () => {
    let calls = 0;
    const m = oauthbearer(async () => ({ value: `tok${++calls}`, extensions: { logicalCluster: 'lkc-1', identityPoolId: 'pool-2' } }));
    const s = server(['', '']);
    await m.authenticate(s);
    await m.authenticate(s);
    expect(s.sent).toEqual([
      'n,,\u0001auth=Bearer tok1\u0001logicalCluster=lkc-1\u0001identityPoolId=pool-2\u0001\u0001',
      'n,,\u0001auth=Bearer tok2\u0001logicalCluster=lkc-1\u0001identityPoolId=pool-2\u0001\u0001',
    ]);
  });

  test('an error document from the server is acknowledged with a lone separator', async () => {
    const s = server(['{"status":"invalid_token"}', '']);
    await expect(oauthbearer(async () => ({ value: 't' })).authenticate(s)).rejects.toThrow(/invalid_token/);
    expect(s.sent[1]).toBe('\u0001');
  });

  test('bad tokens and extensions are refused before anything is sent', async () => {
    const s = server([]);
    await expect(oauthbearer(async () => ({ value: '' })).authenticate(s)).rejects.toThrow(/no token/);
    await expect(oauthbearer(async () => ({ value: 't', extensions: { auth: 'x' } })).authenticate(s)).rejects.toThrow(/not allowed/);
    await expect(oauthbearer(async () => ({ value: 't', extensions: { ok: '\u0001' } })).authenticate(s)).rejects.toThrow(/printable/);
    expect(s.sent).toEqual([]);
  });
});

describe('authenticate (SaslHandshake, then SaslAuthenticate)', () => {
  function transport(script: { mechanisms?: string[]; handshakeError?: number; auth?: Array<{ errorCode?: number; errorMessage?: string; authBytes?: string; sessionLifetimeMs?: bigint }> }) {
    const calls: string[] = [];
    const t: SaslTransport = {
      host: 'b', port: 1,
      version: () => 1,
      async call(api, request) {
        calls.push(api.name);
        if (api.name === 'SaslHandshake') return { errorCode: script.handshakeError ?? 0, mechanisms: script.mechanisms ?? ['PLAIN'] } as never;
        const r = script.auth!.shift()!;
        void request;
        return { errorCode: r.errorCode ?? 0, errorMessage: r.errorMessage ?? null, authBytes: Buffer.from(r.authBytes ?? ''), sessionLifetimeMs: r.sessionLifetimeMs ?? 0n } as never;
      },
    };
    return { t, calls };
  }

  test('returns the session lifetime of the last answer', async () => {
    const { t, calls } = transport({ auth: [{ sessionLifetimeMs: 3600_000n }] });
    await expect(authenticate(t, plain('u', 'p'))).resolves.toBe(3600_000);
    expect(calls).toEqual(['SaslHandshake', 'SaslAuthenticate']);
  });

  test('a mechanism the broker does not enable is an AuthenticationError naming the ones it does', async () => {
    const { t } = transport({ handshakeError: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['SCRAM-SHA-512'] });
    const e = await authenticate(t, plain('u', 'p')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AuthenticationError);
    expect((e as AuthenticationError).retriable).toBe(false);
    expect((e as Error).message).toMatch(/PLAIN is not enabled.*SCRAM-SHA-512/);
  });

  test('the broker refusing carries its message; a mechanism throwing is wrapped with its cause', async () => {
    const { t } = transport({ auth: [{ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: 'Invalid username or password' }] });
    await expect(authenticate(t, plain('u', 'hunter2-secret'))).rejects.toThrow(/SASL PLAIN authentication to b:1 failed: Invalid username or password/);
    const boom = new Error('signer unavailable');
    const custom = { mechanism: 'AWS_MSK_IAM', authenticate: async () => { throw boom; } };
    const e = await authenticate(transport({}).t, custom).catch((x: unknown) => x) as AuthenticationError;
    expect(e).toBeInstanceOf(AuthenticationError);
    expect(e.cause).toBe(boom);
    expect(e.mechanism).toBe('AWS_MSK_IAM');
  });

  test('a broken connection stays the retriable network error it is', async () => {
    const t: SaslTransport = { host: 'b', port: 1, version: () => 1, call: async () => { throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'gone'); } };
    const e = await authenticate(t, plain('u', 'p')).catch((x: unknown) => x) as KafkaError;
    expect(e).not.toBeInstanceOf(AuthenticationError);
    expect(e.retriable).toBe(true);
  });

  test('built-in mechanisms keep their credentials out of inspect and JSON', () => {
    for (const m of [plain('u', 'pw-Secret-1'), scram('sha512', 'u', 'pw-Secret-1')]) {
      expect(inspect(m, { depth: 10, showHidden: true })).not.toContain('pw-Secret-1');
      expect(JSON.stringify(m)).not.toContain('pw-Secret-1');
    }
  });
});
