import { Connection } from '../../src/network/connection.ts';
import { Apis } from '../../src/network/apis.ts';
import { BrokerConnection } from '../../src/network/broker.ts';
import { bootstrap } from '../broker/reference.ts';

function address() {
  const [host, port] = bootstrap().split(',')[0].split(':');
  return { host, port: Number(port), clientId: 'kafkarx-test', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000, maxInFlight: 5 };
}

test('ApiVersions over TCP, decoded by our own code, lists Produce with its version range', async () => {
  const conn = await Connection.connect(address());
  try {
    for (const version of [0, 3]) {
      const res = await conn.request({
        apiKey: Apis.apiVersions.key, apiVersion: version, flexible: Apis.apiVersions.isFlexible(version), name: `ApiVersions v${version}`,
        encode: (w) => Apis.apiVersions.encode(w, version, { clientSoftwareName: 'kafkarx', clientSoftwareVersion: '0.1.0' }),
        decode: (r) => Apis.apiVersions.decode(r, version),
      });
      expect(res.errorCode).toBe(0);
      const produce = res.apiKeys.find((k) => k.apiKey === 0);
      // Kafka 4.1 still advertises Produce from v0 (kept for older librdkafka) and speaks at least v12;
      // kafkarx needs v3+ (record batches v2).
      expect(produce).toEqual({ apiKey: 0, minVersion: expect.any(Number), maxVersion: expect.any(Number) });
      expect(produce!.minVersion).toBeLessThanOrEqual(3);
      expect(produce!.maxVersion).toBeGreaterThanOrEqual(12);
      expect(res.apiKeys.find((k) => k.apiKey === 18)?.maxVersion).toBeGreaterThanOrEqual(3);
    }
  } finally {
    await conn.close();
  }
});

test('the handshake picks, per API, the highest version both sides speak', async () => {
  const { host, port, ...rest } = address();
  const broker = await BrokerConnection.open(-1, { host, port, ...rest });
  try {
    expect(broker.version(Apis.produce)).toBe(12);
    expect(broker.version(Apis.metadata)).toBe(13);
  } finally {
    await broker.close();
  }
});

test('several requests in flight on one connection come back to their callers', async () => {
  const conn = await Connection.connect({ ...address(), maxInFlight: 3 });
  try {
    const versions = [0, 1, 2, 3, 0, 3, 1];
    const answers = await Promise.all(versions.map((version) => conn.request({
      apiKey: 18, apiVersion: version, flexible: Apis.apiVersions.isFlexible(version), name: `ApiVersions v${version}`,
      encode: (w) => Apis.apiVersions.encode(w, version, { clientSoftwareName: 'kafkarx', clientSoftwareVersion: '0.1.0' }),
      decode: (r) => ({ version, res: Apis.apiVersions.decode(r, version) }),
    })));
    expect(answers.map((a) => a.version)).toEqual(versions);
    // Only v1+ carries throttleTimeMs, so each answer was decoded with its own request's version.
    for (const a of answers) expect(a.res.apiKeys.length).toBeGreaterThan(10);
  } finally {
    await conn.close();
  }
});
