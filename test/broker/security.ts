// Secured listeners for the local test broker: TLS (with and without client certificates, and
// with an expired and a wrong-host certificate), SASL over plaintext and TLS with PLAIN,
// SCRAM-SHA-256/512 and OAUTHBEARER (the broker's unsecured JWT validator), a SASL listener with
// a short session lifetime (KIP-368 re-authentication), and StandardAuthorizer with one user
// limited by ACLs. Certificates are made with openssl at start time and never committed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What tests need to reach the secured listeners (exposed as JSON in KAFKARX_SECURITY). */
export interface SecureBroker {
  listeners: {
    /** TLS, no client certificate asked. */
    ssl: string;
    /** TLS, `ssl.client.auth=required`. */
    mtls: string;
    /** TLS with a certificate that has expired. */
    expired: string;
    /** TLS with a certificate for another host name. */
    wrongHost: string;
    saslPlaintext: string;
    saslSsl: string;
    /** SASL_PLAINTEXT with `connections.max.reauth.ms` = REAUTH_MS. */
    reauth: string;
  };
  reauthMs: number;
  /** PEM files; `otherCa`/`otherCaKey`: a self-signed certificate the broker does not trust. */
  certs: { ca: string; clientCert: string; clientKey: string; clientKeyEncrypted: string; otherCa: string; otherCaKey: string };
  /** Passphrase of clientKeyEncrypted. */
  clientKeyPassphrase: string;
  /** Super users (write anywhere), by mechanism they can use. */
  users: { admin: { username: string; password: string }; alice: { username: string; password: string } };
  /** May write topics whose name starts with `allowedPrefix` and only describe those starting with `deniedPrefix`. */
  limited: { username: string; password: string; allowedPrefix: string; deniedPrefix: string };
}

export const SECURE_LISTENER_NAMES = ['SSL', 'MTLS', 'EXPIRED', 'WRONGHOST', 'SASL_PLAINTEXT', 'SASL_SSL', 'REAUTH'] as const;
const REAUTH_MS = 6000;

// Distinctive, so a test can search every output for them.
const USERS = {
  admin: { username: 'admin', password: 'admin-pw-Zq81xK' },
  alice: { username: 'alice', password: 'alice-pw-Vt47mR' },
};
const LIMITED = { username: 'bob', password: 'bob-pw-Hc29wN', allowedPrefix: 'bob-allowed-', deniedPrefix: 'bob-denied-' };
const KEY_PASSPHRASE = 'client-key-pass-Pf63sJ';

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a broker certificate (SAN localhost, 127.0.0.1), a client one, an expired one, a wrong-host one and an unrelated CA. */
function makeCertificates(dir: string): SecureBroker['certs'] & { brokerPem: string; expiredPem: string; wrongHostPem: string } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=kafkarx-test-ca');
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '30', '-subj', '/CN=kafkarx-other-ca');
  // `openssl ca` can back-date a certificate (x509 -req cannot in OpenSSL 3.0).
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), ['[ca]', 'default_ca = test', '[test]', 'dir = .', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = any', 'copy_extensions = copy', 'unique_subject = no', 'certificate = ca.pem', 'private_key = ca.key',
    '[any]', 'commonName = supplied', ''].join('\n'));
  const issue = (name: string, cn: string, san: string | null, dates: string[]) => {
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`,
      ...(san ? ['-addext', `subjectAltName=${san}`] : []));
    openssl(dir, 'ca', '-batch', '-config', 'ca.cnf', '-notext', '-in', `${name}.csr`, '-out', `${name}.pem`, ...dates);
  };
  issue('broker', 'localhost', 'DNS:localhost,IP:127.0.0.1', ['-days', '30']);
  issue('expired', 'localhost', 'DNS:localhost,IP:127.0.0.1', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  issue('wronghost', 'kafka.example.invalid', 'DNS:kafka.example.invalid', ['-days', '30']);
  issue('client', 'client', null, ['-days', '30']);
  openssl(dir, 'pkcs8', '-topk8', '-in', 'client.key', '-out', 'client-encrypted.key', '-passout', `pass:${KEY_PASSPHRASE}`, '-v2', 'aes-256-cbc');
  // Kafka's PEM key store: the key (PKCS#8, unencrypted) then the certificate chain.
  for (const name of ['broker', 'expired', 'wronghost']) {
    openssl(dir, 'pkcs8', '-topk8', '-nocrypt', '-in', `${name}.key`, '-out', `${name}.p8`);
    writeFileSync(join(dir, `${name}-store.pem`), readFileSync(join(dir, `${name}.p8`), 'utf8') + readFileSync(join(dir, `${name}.pem`), 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8'));
  }
  return {
    ca: join(dir, 'ca.pem'), otherCa: join(dir, 'other-ca.pem'), otherCaKey: join(dir, 'other-ca.key'),
    clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client.key'), clientKeyEncrypted: join(dir, 'client-encrypted.key'),
    brokerPem: join(dir, 'broker-store.pem'), expiredPem: join(dir, 'expired-store.pem'), wrongHostPem: join(dir, 'wronghost-store.pem'),
  };
}

/** server.properties lines for the secured listeners; `ports` in SECURE_LISTENER_NAMES order. */
export function secureProperties(dir: string, ports: readonly number[]): { properties: string; formatArgs: string[]; info: SecureBroker } {
  const certs = makeCertificates(join(dir, 'certs'));
  const at = (i: number) => `127.0.0.1:${ports[i]}`;
  const lines = [
    'ssl.keystore.type=PEM', `ssl.keystore.location=${certs.brokerPem}`,
    'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.ca}`,
    'ssl.endpoint.identification.algorithm=',
    'ssl.principal.mapping.rules=RULE:^CN=([^,]+)$/$1/,DEFAULT',
    'listener.name.mtls.ssl.client.auth=required',
    `listener.name.expired.ssl.keystore.location=${certs.expiredPem}`, 'listener.name.expired.ssl.keystore.type=PEM',
    `listener.name.wronghost.ssl.keystore.location=${certs.wrongHostPem}`, 'listener.name.wronghost.ssl.keystore.type=PEM',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    // ANONYMOUS: the PLAINTEXT, controller and TLS-without-SASL listeners; client: the mTLS certificate.
    `super.users=User:ANONYMOUS;User:${USERS.admin.username};User:${USERS.alice.username};User:client`,
    'allow.everyone.if.no.acl.found=false',
    `listener.name.reauth.connections.max.reauth.ms=${REAUTH_MS}`,
  ];
  const plainUsers = [USERS.admin, USERS.alice, LIMITED].map((u) => `user_${u.username}="${u.password}"`).join(' ');
  for (const listener of ['sasl_plaintext', 'sasl_ssl', 'reauth']) {
    lines.push(
      `listener.name.${listener}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${USERS.admin.username}" password="${USERS.admin.password}" ${plainUsers};`,
      `listener.name.${listener}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
      `listener.name.${listener}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
      `listener.name.${listener}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="${USERS.admin.username}";`,
    );
  }
  const formatArgs: string[] = [];
  for (const u of [USERS.admin, USERS.alice, LIMITED]) {
    for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) formatArgs.push('--add-scram', `${m}=[name=${u.username},password=${u.password}]`);
  }
  const info: SecureBroker = {
    listeners: { ssl: at(0), mtls: at(1), expired: at(2), wrongHost: at(3), saslPlaintext: at(4), saslSsl: at(5), reauth: at(6) },
    reauthMs: REAUTH_MS,
    certs: { ca: certs.ca, otherCa: certs.otherCa, otherCaKey: certs.otherCaKey, clientCert: certs.clientCert, clientKey: certs.clientKey, clientKeyEncrypted: certs.clientKeyEncrypted },
    clientKeyPassphrase: KEY_PASSPHRASE,
    users: USERS,
    limited: LIMITED,
  };
  return { properties: lines.join('\n') + '\n', formatArgs, info };
}

/** The limited user's ACLs (Kafka's AclCommand over the PLAINTEXT listener, whose ANONYMOUS principal is a super user). */
export function limitedUserAcls(bootstrap: string): string[][] {
  const user = `User:${LIMITED.username}`;
  const base = ['--bootstrap-server', bootstrap, '--add', '--allow-principal', user, '--resource-pattern-type', 'prefixed'];
  return [
    [...base, '--operation', 'Write', '--operation', 'Describe', '--operation', 'Create', '--topic', LIMITED.allowedPrefix],
    [...base, '--operation', 'Describe', '--operation', 'Create', '--topic', LIMITED.deniedPrefix],
  ];
}
