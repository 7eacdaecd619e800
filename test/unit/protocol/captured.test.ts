// Frames captured from a real Apache Kafka broker by ./capture.ts (see its header for how to
// refresh them). The responses were written by Kafka's own serializers, so decoding them checks
// our generated decoders against the real thing, field order and tagged-field sections included;
// re-encoding the captured requests checks that decode∘encode is the identity on real traffic.
// Only stable values are asserted: not ports, cluster ids, topic ids, timestamps or exact offsets.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as M from '../../../src/protocol/messages/index.ts';
import { DecodeError } from '../../../src/protocol/errors.ts';
import { ZERO_UUID } from '../../../src/protocol/message-support.ts';
import { Reader } from '../../../src/protocol/reader.ts';
import { Writer } from '../../../src/protocol/writer.ts';
import { readRecordBatches } from '../../../src/record/batch-reader.ts';

const TOPIC = 'kafkarx-capture';
const PARTITIONS = 3;

interface Capture {
  api: 'ApiVersions' | 'Metadata' | 'Produce';
  apiKey: number;
  version: number;
  correlationId: number;
  kafkaVersion: string;
  note: string;
  request: string;
  response: string;
}

const dir = join(__dirname, 'captures');
const captures: Capture[] = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Capture);

const find = (api: Capture['api'], version: number): Capture => {
  const c = captures.find((x) => x.api === api && x.version === version);
  if (!c) throw new Error(`no capture for ${api} v${version} in ${dir}: run test/unit/protocol/capture.ts`);
  return c;
};

const codecs = {
  ApiVersions: { m: M.ApiVersions, decodeRequest: M.ApiVersions.decodeApiVersionsRequest, encodeRequest: M.ApiVersions.encodeApiVersionsRequest, decodeResponse: M.ApiVersions.decodeApiVersionsResponse },
  Metadata: { m: M.Metadata, decodeRequest: M.Metadata.decodeMetadataRequest, encodeRequest: M.Metadata.encodeMetadataRequest, decodeResponse: M.Metadata.decodeMetadataResponse },
  Produce: { m: M.Produce, decodeRequest: M.Produce.decodeProduceRequest, encodeRequest: M.Produce.encodeProduceRequest, decodeResponse: M.Produce.decodeProduceResponse },
} as const;

/** Kafka answers ApiVersions with response header v0 even in flexible versions (KIP-511). */
const responseHeaderVersion = (c: Capture) => (codecs[c.api].m.isFlexible(c.version) && c.apiKey !== M.ApiVersions.API_KEY ? 1 : 0);

/** Decodes a captured response; the reader must stop exactly at the frame's end. */
function decodeResponse(c: Capture): { body: unknown; reader: Reader } {
  const frame = Buffer.from(c.response, 'hex');
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  const reader = new Reader(frame, 4);
  const header = M.ResponseHeader.decodeResponseHeader(reader, responseHeaderVersion(c));
  expect(header.correlationId).toBe(c.correlationId);
  const body = (codecs[c.api].decodeResponse as (r: Reader, v: number) => unknown)(reader, c.version);
  return { body, reader };
}

test('the captures cover the versions the brief asks for, from one Kafka version', () => {
  const have = captures.map((c) => `${c.api}-v${c.version}`).sort();
  expect(have).toEqual(['ApiVersions-v0', 'ApiVersions-v3', 'Metadata-v12', 'Metadata-v13', 'Metadata-v4', 'Metadata-v9',
    'Produce-v11', 'Produce-v12', 'Produce-v3', 'Produce-v7', 'Produce-v9'].sort());
  for (const c of captures) {
    expect(c.kafkaVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(c.note).toContain(c.kafkaVersion);
  }
});

describe.each(captures.map((c) => [`${c.api} v${c.version}`, c] as const))('%s', (_name, c) => {
  test('the response decodes up to the last byte of the frame, tagged-field sections included', () => {
    const { reader } = decodeResponse(c);
    expect(reader.offset).toBe(reader.end);
  });

  test('a response cut short by one byte fails with a DecodeError instead of reading garbage', () => {
    const frame = Buffer.from(c.response, 'hex');
    const reader = new Reader(frame, 4, frame.length - 1);
    M.ResponseHeader.decodeResponseHeader(reader, responseHeaderVersion(c));
    expect(() => (codecs[c.api].decodeResponse as (r: Reader, v: number) => unknown)(reader, c.version)).toThrow(DecodeError);
  });

  test('the request decodes and re-encodes to the identical bytes', () => {
    const frame = Buffer.from(c.request, 'hex');
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const flexible = codecs[c.api].m.isFlexible(c.version);
    const r = new Reader(frame, 4);
    const header = M.RequestHeader.decodeRequestHeader(r, flexible ? 2 : 1);
    expect(header).toEqual({ requestApiKey: c.apiKey, requestApiVersion: c.version, correlationId: c.correlationId, clientId: 'kafkarx-capture' });
    const body = (codecs[c.api].decodeRequest as (r: Reader, v: number) => unknown)(r, c.version);
    expect(r.offset).toBe(r.end);

    const w = new Writer(64);
    const at = w.reserve(4);
    M.RequestHeader.encodeRequestHeader(w, flexible ? 2 : 1, header);
    (codecs[c.api].encodeRequest as (w: Writer, v: number, b: unknown) => void)(w, c.version, body);
    const again = Buffer.from(w.subarray());
    again.writeInt32BE(again.length - 4, at);
    expect(again.toString('hex')).toBe(c.request);
  });
});

describe('ApiVersions', () => {
  test.each([0, 3])('v%i: no error, and the broker offers the versions kafkarx uses', (v) => {
    const res = decodeResponse(find('ApiVersions', v)).body as M.ApiVersions.ApiVersionsResponse;
    expect(res.errorCode).toBe(0);
    expect(res.throttleTimeMs).toBe(0);
    const range = (key: number) => res.apiKeys.find((k) => k.apiKey === key);
    // Kafka 4 dropped Produce v0-v2; the versions captured here must be inside what it offers.
    expect(range(M.ApiKey.Produce)).toEqual(expect.objectContaining({ maxVersion: expect.any(Number) }));
    expect(range(M.ApiKey.Produce)!.maxVersion).toBeGreaterThanOrEqual(12);
    expect(range(M.ApiKey.Metadata)!.maxVersion).toBeGreaterThanOrEqual(13);
    expect(range(M.ApiKey.ApiVersions)!.maxVersion).toBeGreaterThanOrEqual(3);
    // Each api key appears once, with a sane range.
    expect(new Set(res.apiKeys.map((k) => k.apiKey)).size).toBe(res.apiKeys.length);
    for (const k of res.apiKeys) expect(k.minVersion).toBeLessThanOrEqual(k.maxVersion);
  });

  test('v3 carries the feature tagged fields (tags 0-2), which v0 lacks', () => {
    const v0 = decodeResponse(find('ApiVersions', 0)).body as M.ApiVersions.ApiVersionsResponse;
    const v3 = decodeResponse(find('ApiVersions', 3)).body as M.ApiVersions.ApiVersionsResponse;
    expect(v0.supportedFeatures).toEqual([]);
    expect(v0.finalizedFeaturesEpoch).toBe(-1n);
    expect(v3.supportedFeatures.map((f) => f.name)).toContain('metadata.version');
    expect(v3.finalizedFeatures.map((f) => f.name)).toContain('metadata.version');
    expect(v3.finalizedFeaturesEpoch).toBeGreaterThanOrEqual(0n);
    // Both list the same APIs: the tagged fields must not have shifted the array.
    expect(v3.apiKeys).toEqual(v0.apiKeys);
  });

  test('v3 request carries the client software name and version', () => {
    const c = find('ApiVersions', 3);
    const r = new Reader(Buffer.from(c.request, 'hex'), 4);
    M.RequestHeader.decodeRequestHeader(r, 2);
    expect(M.ApiVersions.decodeApiVersionsRequest(r, 3)).toEqual({ clientSoftwareName: 'kafkarx', clientSoftwareVersion: '0.1.0' });
  });
});

describe('Metadata', () => {
  test.each([4, 9, 12, 13])('v%i: the broker, and the topic with all its partitions led by it', (v) => {
    const res = decodeResponse(find('Metadata', v)).body as M.Metadata.MetadataResponse;
    expect(res.throttleTimeMs).toBe(0);
    expect(res.errorCode).toBe(0);
    expect(res.brokers.length).toBeGreaterThanOrEqual(1);
    for (const b of res.brokers) {
      expect(b.nodeId).toBeGreaterThanOrEqual(0);
      expect(b.host.length).toBeGreaterThan(0);
      expect(b.port).toBeGreaterThan(0);
      expect(b.port).toBeLessThan(65536);
    }
    const ids = res.brokers.map((b) => b.nodeId);
    expect(ids).toContain(res.controllerId);
    expect(res.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(res.topics).toHaveLength(1);
    const [t] = res.topics;
    expect(t.errorCode).toBe(0);
    expect(t.name).toBe(TOPIC);
    expect(t.isInternal).toBe(false);
    expect(t.partitions.map((p) => p.partitionIndex).sort()).toEqual([...Array(PARTITIONS).keys()]);
    for (const p of t.partitions) {
      expect(p.errorCode).toBe(0);
      expect(ids).toContain(p.leaderId);
      expect(p.replicaNodes).toContain(p.leaderId);
      expect(p.isrNodes).toContain(p.leaderId);
      // The leader epoch arrived in v7; before it, the decoder fills in the schema default.
      if (v >= 7) expect(p.leaderEpoch).toBeGreaterThanOrEqual(0);
      else expect(p.leaderEpoch).toBe(-1);
    }
    // Topic ids arrived in v10.
    if (v >= 10) expect(t.topicId).not.toBe(ZERO_UUID);
    else expect(t.topicId).toBe(ZERO_UUID);
  });

  test('all four versions describe the same cluster', () => {
    const all = [4, 9, 12, 13].map((v) => decodeResponse(find('Metadata', v)).body as M.Metadata.MetadataResponse);
    for (const res of all.slice(1)) {
      expect(res.brokers).toEqual(all[0].brokers);
      expect(res.clusterId).toBe(all[0].clusterId);
    }
    expect(all[3].topics[0].topicId).toBe(all[2].topics[0].topicId);
  });
});

describe('Produce', () => {
  const versions = [3, 7, 9, 11, 12];

  test.each(versions)('v%i: partition 0 of the topic took the batch without error', (v) => {
    const res = decodeResponse(find('Produce', v)).body as M.Produce.ProduceResponse;
    expect(res.throttleTimeMs).toBe(0);
    expect(res.responses).toHaveLength(1);
    const [t] = res.responses;
    expect(t.name).toBe(TOPIC);
    expect(t.partitionResponses).toHaveLength(1);
    const [p] = t.partitionResponses;
    expect(p.index).toBe(0);
    expect(p.errorCode).toBe(0);
    expect(p.baseOffset).toBeGreaterThanOrEqual(0n);
    // The topic keeps CreateTime: the broker answers -1 for LogAppendTime.
    expect(p.logAppendTimeMs).toBe(-1n);
    // logStartOffset arrived in v5: -1 is the default before it, a real offset since.
    if (v >= 5) expect(p.logStartOffset).toBeGreaterThanOrEqual(0n);
    else expect(p.logStartOffset).toBe(-1n);
    expect(p.recordErrors).toEqual([]);
    expect(p.errorMessage).toBeNull();
  });

  test('the captures went to one partition in order, one record each: base offsets rise by one', () => {
    const offsets = versions.map((v) => (decodeResponse(find('Produce', v)).body as M.Produce.ProduceResponse).responses[0].partitionResponses[0].baseOffset);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe(offsets[i - 1] + 1n);
  });

  test.each(versions)('v%i request: acks=1 and one RecordBatch holding the one record', (v) => {
    const c = find('Produce', v);
    const r = new Reader(Buffer.from(c.request, 'hex'), 4);
    M.RequestHeader.decodeRequestHeader(r, M.Produce.isFlexible(v) ? 2 : 1);
    const req = M.Produce.decodeProduceRequest(r, v);
    expect(req.acks).toBe(1);
    expect(req.transactionalId).toBeNull();
    expect(req.topicData[0].name).toBe(TOPIC);
    const batches = readRecordBatches(req.topicData[0].partitionData[0].records!);
    expect(batches).toHaveLength(1);
    expect(batches[0].records).toHaveLength(1);
    const [rec] = batches[0].records;
    expect(rec.key?.toString()).toBe(`key-v${v}`);
    expect(rec.value?.toString()).toBe(`value for Produce v${v}`);
  });
});
