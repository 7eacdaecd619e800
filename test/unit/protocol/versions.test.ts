import { UnsupportedVersionError } from '../../../src/protocol/errors.ts';
import { API_SCHEMAS, ApiKey } from '../../../src/protocol/messages/index.ts';
import { CLIENT_VERSIONS, negotiate, requestHeaderVersion, responseHeaderVersion, TRANSACTION_V1_MAX_VERSION } from '../../../src/protocol/versions.ts';

// What a Kafka 2.8 broker advertises for some of the APIs we use.
const kafka28 = [
  { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 9 },
  { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 11 },
  { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 3 },
];

test('picks the highest version both sides speak', () => {
  expect(negotiate(kafka28, ApiKey.Produce)).toBe(9);
  expect(negotiate(kafka28, ApiKey.Metadata)).toBe(11);
  expect(negotiate(new Map([[ApiKey.Produce, { minVersion: 0, maxVersion: 13 }]]), ApiKey.Produce)).toBe(12);
});

test('a cap lowers our ceiling, as classic transactions need', () => {
  const kafka41 = [{ apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 13 }];
  expect(negotiate(kafka41, ApiKey.Produce, TRANSACTION_V1_MAX_VERSION[ApiKey.Produce])).toBe(11);
});

test('no overlap is an UnsupportedVersion error naming the api and both ranges', () => {
  let error: unknown;
  try {
    negotiate([{ apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 2 }], ApiKey.Produce);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UnsupportedVersionError);
  const e = error as UnsupportedVersionError;
  expect(e.message).toMatch(/Produce.*3-12.*0-2/);
  expect(e.code).toBe(35);
  expect(e.clientVersions).toEqual({ minVersion: 3, maxVersion: 12 });
  expect(e.brokerVersions).toEqual({ apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 2 });
});

test('an api the broker lacks, or that we lack, is an UnsupportedVersion error', () => {
  expect(() => negotiate(kafka28, ApiKey.EndTxn)).toThrow(/EndTxn/);
  expect(() => negotiate(kafka28, 1)).toThrow(UnsupportedVersionError);
});

test('our ranges lie within what the schemas can encode', () => {
  for (const [apiKey, range] of CLIENT_VERSIONS) {
    const schema = API_SCHEMAS.get(apiKey)!;
    expect({ apiKey, ok: range.minVersion >= schema.minVersion && range.maxVersion <= schema.maxStableVersion }).toEqual({ apiKey, ok: true });
  }
  expect([...CLIENT_VERSIONS.keys()].sort()).toEqual([...API_SCHEMAS.keys()].sort());
});

test('header versions follow the flexible versions, with ApiVersions responses always v0', () => {
  expect(requestHeaderVersion(ApiKey.Produce, 8)).toBe(1);
  expect(requestHeaderVersion(ApiKey.Produce, 9)).toBe(2);
  expect(responseHeaderVersion(ApiKey.Produce, 9)).toBe(1);
  expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
  expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
  expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
  expect(requestHeaderVersion(ApiKey.SaslHandshake, 1)).toBe(1);
});
