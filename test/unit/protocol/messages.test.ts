import { DecodeError, EncodeError, UnsupportedVersionError } from '../../../src/protocol/errors.ts';
import * as M from '../../../src/protocol/messages/index.ts';
import { Reader } from '../../../src/protocol/reader.ts';
import { Writer } from '../../../src/protocol/writer.ts';
import { loadSchemas, Sampler, versionRange } from './sampler.ts';

const bytes = (h: string): Buffer => Buffer.from(h.replace(/[\s|]/g, ''), 'hex');
const kafkarx = '6b61666b617278';

function encode(f: (w: Writer) => void): Buffer {
  const w = new Writer(8);
  f(w);
  return w.toBuffer();
}

describe('hand-computed requests', () => {
  test('ApiVersions v0 with its v1 request header', () => {
    const got = encode((w) => {
      M.RequestHeader.encodeRequestHeader(w, 1, { requestApiKey: 18, requestApiVersion: 0, correlationId: 1, clientId: 'kafkarx' });
      M.ApiVersions.encodeApiVersionsRequest(w, 0, {});
    });
    // api key | api version | correlation id | client id (int16 length); the v0 body is empty.
    expect(got).toEqual(bytes(`0012 | 0000 | 00000001 | 0007 ${kafkarx}`));
  });

  test('ApiVersions v3 with its v2 request header', () => {
    const got = encode((w) => {
      M.RequestHeader.encodeRequestHeader(w, 2, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'kafkarx' });
      M.ApiVersions.encodeApiVersionsRequest(w, 3, { clientSoftwareName: 'kafkarx', clientSoftwareVersion: '0.1.0' });
    });
    // The header keeps a classic int16-length client id even though v2 is flexible, then an empty
    // tagged section; the body uses compact strings (length + 1) and its own tagged section.
    expect(got).toEqual(bytes(`0012 | 0003 | 00000007 | 0007 ${kafkarx} | 00 | 08 ${kafkarx} | 06 302e312e30 | 00`));
  });

  const records = Buffer.from([0, 1, 2]);

  test('Produce v3', () => {
    const got = encode((w) =>
      M.Produce.encodeProduceRequest(w, 3, { acks: -1, timeoutMs: 30000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] }),
    );
    // null transactional id | acks | timeout | 1 topic | "t" | 1 partition | index 0 | 3 record bytes
    expect(got).toEqual(bytes('ffff | ffff | 00007530 | 00000001 | 0001 74 | 00000001 | 00000000 | 00000003 000102'));
    const back = M.Produce.decodeProduceRequest(new Reader(got), 3);
    expect(back).toEqual({ transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitionData: [{ index: 0, records }] }] });
  });

  test('Produce v9', () => {
    const got = encode((w) =>
      M.Produce.encodeProduceRequest(w, 9, { transactionalId: 'tx', acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 2, records }] }] }),
    );
    // compact "tx" | acks | timeout | compact 1 topic | compact "t" | compact 1 partition | index 2 |
    // compact 3 record bytes | partition, topic and request tagged sections (all empty)
    expect(got).toEqual(bytes('03 7478 | 0001 | 000003e8 | 02 | 02 74 | 02 | 00000002 | 04 000102 | 00 | 00 | 00'));
    expect(M.Produce.decodeProduceRequest(new Reader(got), 9).topicData[0].partitionData[0].records).toEqual(records);
  });
});

describe('hand-computed responses', () => {
  // A Produce v10 response: one partition with NOT_LEADER_OR_FOLLOWER and the new leader in tagged
  // field 0, then a top-level tagged section holding only a tag (5) this version does not know.
  const v10 = bytes(
    '02 | 02 74 | 02 | 00000000 | 0006 | ffffffffffffffff | ffffffffffffffff | 0000000000000000 | 01 | 00 |' +
      ' 01 00 09 00000002 00000005 00 | 00 | 00000000 | 01 05 02 aabb',
  );

  test('Produce v10: tagged fields known and unknown', () => {
    const r = new Reader(v10);
    const res = M.Produce.decodeProduceResponse(r, 10);
    expect(r.remaining).toBe(0);
    expect(res).toEqual({
      responses: [
        {
          name: 't',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partitionResponses: [
            {
              index: 0,
              errorCode: 6,
              baseOffset: -1n,
              logAppendTimeMs: -1n,
              logStartOffset: 0n,
              recordErrors: [],
              errorMessage: null,
              currentLeader: { leaderId: 2, leaderEpoch: 5 },
            },
          ],
        },
      ],
      throttleTimeMs: 0,
      nodeEndpoints: [],
    });
    // Encoding it again writes the known tagged field back and drops the unknown one.
    expect(encode((w) => M.Produce.encodeProduceResponse(w, 10, res))).toEqual(Buffer.concat([v10.subarray(0, v10.length - 5), bytes('00')]));
  });

  test('a default-valued tagged field is not written', () => {
    const res = { responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 5n, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }] };
    const got = encode((w) => M.Produce.encodeProduceResponse(w, 10, res));
    // ... | compact empty record errors | null error message | no tagged fields | topic tags | throttle | tags
    expect(got.subarray(got.length - 9)).toEqual(bytes('01 | 00 | 00 | 00 | 00000000 | 00'));
  });

  test('a known tagged field whose size disagrees with its content is corrupt', () => {
    const bad = Buffer.from(v10);
    bad[bad.indexOf(Buffer.from('010009', 'hex')) + 2] = 0x0a;
    expect(() => M.Produce.decodeProduceResponse(new Reader(bad), 10)).toThrow(DecodeError);
  });

  test('truncated input names the field being read', () => {
    expect(() => M.Produce.decodeProduceResponse(new Reader(v10.subarray(0, 9)), 10)).toThrow(/PartitionProduceResponse\.errorCode/);
  });
});

describe('versions and fields', () => {
  test('a version outside the schema is refused', () => {
    expect(() => encode((w) => M.Produce.encodeProduceRequest(w, 2, { acks: 1, timeoutMs: 1, topicData: [] }))).toThrow(UnsupportedVersionError);
    expect(() => M.Produce.decodeProduceResponse(new Reader(Buffer.alloc(0)), 14)).toThrow(UnsupportedVersionError);
  });

  test('a non-default value for a non-ignorable field the version lacks is refused', () => {
    const req = { topics: [{ name: 't' }], allowAutoTopicCreation: false };
    expect(() => encode((w) => M.Metadata.encodeMetadataRequest(w, 3, req))).toThrow(/MetadataRequest\.allowAutoTopicCreation/);
    expect(() => encode((w) => M.InitProducerId.encodeInitProducerIdRequest(w, 2, { transactionalId: null, transactionTimeoutMs: 1, producerId: 5n }))).toThrow(
      UnsupportedVersionError,
    );
    // The default is fine, and so is leaving the field out.
    const withDefault = encode((w) => M.Metadata.encodeMetadataRequest(w, 3, { topics: [{ name: 't' }], allowAutoTopicCreation: true }));
    expect(withDefault).toEqual(encode((w) => M.Metadata.encodeMetadataRequest(w, 3, { topics: [{ name: 't' }] })));
  });

  test('an ignorable field the version lacks is dropped silently', () => {
    const v2 = encode((w) => M.ApiVersions.encodeApiVersionsRequest(w, 2, { clientSoftwareName: 'kafkarx', clientSoftwareVersion: '1' }));
    expect(v2.length).toBe(0);
  });

  test('null is refused where the version cannot carry it', () => {
    expect(() => encode((w) => M.Metadata.encodeMetadataRequest(w, 0, { topics: null }))).toThrow(EncodeError);
    // Version 1 made the topic list nullable: null asks for all topics.
    expect(encode((w) => M.Metadata.encodeMetadataRequest(w, 1, { topics: null }))).toEqual(bytes('ffffffff'));
  });

  test('a field moving between versions: FindCoordinator keys', () => {
    expect(encode((w) => M.FindCoordinator.encodeFindCoordinatorRequest(w, 3, { key: 'tx', keyType: 1 }))).toEqual(bytes('03 7478 | 01 | 00'));
    expect(encode((w) => M.FindCoordinator.encodeFindCoordinatorRequest(w, 4, { keyType: 1, coordinatorKeys: ['tx'] }))).toEqual(bytes('01 | 02 03 7478 | 00'));
  });

  test('every module states its api key and version range', () => {
    expect([M.Produce.API_KEY, M.Produce.MIN_VERSION, M.Produce.MAX_VERSION, M.Produce.FIRST_FLEXIBLE_VERSION]).toEqual([0, 3, 13, 9]);
    expect(M.SaslHandshake.FIRST_FLEXIBLE_VERSION).toBeNull();
    expect(M.InitProducerId.MAX_STABLE_VERSION).toBe(M.InitProducerId.MAX_VERSION - 1);
    expect(M.API_SCHEMAS.get(M.ApiKey.Metadata)).toMatchObject({ name: 'Metadata', minVersion: 0, maxVersion: 13, firstFlexibleVersion: 9 });
  });
});

type Codec = { encode: (w: Writer, v: number, s: unknown) => void; decode: (r: Reader, v: number) => unknown };

function codecFor(message: string): Codec {
  const direction = /(Request|Response)$/.exec(message)?.[1] ?? '';
  const module = (M as unknown as Record<string, Record<string, unknown>>)[direction ? message.slice(0, -direction.length) : message];
  return { encode: module[`encode${message}`] as Codec['encode'], decode: module[`decode${message}`] as Codec['decode'] };
}

describe('round trips of sample data, every message at every version', () => {
  const { messages } = loadSchemas();
  const cases = Object.entries(messages).flatMap(([name, schema]) => {
    const [lo, hi] = versionRange(schema.validVersions);
    return Array.from({ length: hi - lo + 1 }, (_, i) => [name, lo + i] as const);
  });

  test('every generated message has a sample case', () => {
    expect(new Set(cases.map(([name]) => name)).size).toBe(32);
  });

  test.each(cases)('%s v%d', (name, version) => {
    const { encode: enc, decode: dec } = codecFor(name);
    for (let seed = 1; seed <= 8; seed++) {
      const { input, expected } = new Sampler(messages[name], version, seed).sample();
      const w = new Writer(8);
      enc(w, version, input);
      const wire = w.toBuffer();
      const r = new Reader(wire);
      const decoded = dec(r, version);
      expect(r.remaining).toBe(0);
      expect(decoded).toEqual(expected);
      const again = new Writer(8);
      enc(again, version, decoded);
      expect(again.toBuffer()).toEqual(wire);
      // Cut anywhere, the message must fail as a DecodeError, never as something else.
      if (wire.length > 0) expect(() => dec(new Reader(wire.subarray(0, wire.length - 1)), version)).toThrow(DecodeError);
    }
  });
});
