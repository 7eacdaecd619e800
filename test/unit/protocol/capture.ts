// Captures real request/response frames from a broker, for test/unit/protocol/captured.test.ts.
// Run by hand, against a broker you started (npm run kafka:start prints its address):
//
//   bash .ci/node24.sh node test/unit/protocol/capture.ts 127.0.0.1:34431
//
// Requests are encoded by our generated encoders and sent on a raw TCP socket (not through
// src/network, so a framing bug there cannot hide in the captures); each request frame and the
// broker's response frame are written, as hex, to captures/<api>-v<N>.json. The frames include
// their 4-byte size prefix. Re-running overwrites the files; the test asserts only stable fields.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as M from '../../../src/protocol/messages/index.ts';
import { Reader } from '../../../src/protocol/reader.ts';
import { Writer } from '../../../src/protocol/writer.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';
import { KAFKA_VERSION } from '../../broker/paths.ts';

/** The topic every capture uses; fixed, so the request bytes do not change from run to run. */
export const CAPTURE_TOPIC = 'kafkarx-capture';
export const CAPTURE_PARTITIONS = 3;
export const CAPTURE_CLIENT_ID = 'kafkarx-capture';

export interface Capture {
  api: string;
  apiKey: number;
  version: number;
  correlationId: number;
  kafkaVersion: string;
  note: string;
  request: string;
  response: string;
}

interface Api<Req> {
  key: number;
  name: string;
  isFlexible(v: number): boolean;
  encode(w: Writer, v: number, req: Req): void;
}

class RawConnection {
  private readonly socket: Socket;
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | undefined;
  private correlationId = 100;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
  }

  static open(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  private deliver(): void {
    if (!this.waiting || this.buffered.length < 4) return;
    const size = this.buffered.readInt32BE(0);
    if (this.buffered.length < 4 + size) return;
    const frame = this.buffered.subarray(0, 4 + size);
    this.buffered = this.buffered.subarray(4 + size);
    const w = this.waiting;
    this.waiting = undefined;
    w(Buffer.from(frame));
  }

  /** One request, one answer: returns both frames, size prefix included. */
  async exchange<Req>(api: Api<Req>, version: number, body: Req): Promise<{ request: Buffer; response: Buffer; correlationId: number }> {
    const correlationId = this.correlationId++;
    const w = new Writer(1024);
    const at = w.reserve(4);
    M.RequestHeader.encodeRequestHeader(w, api.isFlexible(version) ? 2 : 1, { requestApiKey: api.key, requestApiVersion: version, correlationId, clientId: CAPTURE_CLIENT_ID });
    api.encode(w, version, body);
    const request = Buffer.from(w.subarray());
    request.writeInt32BE(request.length - 4, at);
    const response = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${api.name} v${version}: no answer in 10 s`)), 10_000);
      this.waiting = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.socket.write(request);
      this.deliver();
    });
    if (response.readInt32BE(4) !== correlationId) throw new Error(`${api.name} v${version}: answer has another correlation id`);
    return { request, response, correlationId };
  }

  close(): void {
    this.socket.end();
  }
}

const apiVersions: Api<M.ApiVersions.ApiVersionsRequestInput> = { key: M.ApiVersions.API_KEY, name: 'ApiVersions', isFlexible: M.ApiVersions.isFlexible, encode: M.ApiVersions.encodeApiVersionsRequest };
const metadata: Api<M.Metadata.MetadataRequestInput> = { key: M.Metadata.API_KEY, name: 'Metadata', isFlexible: M.Metadata.isFlexible, encode: M.Metadata.encodeMetadataRequest };
const produce: Api<M.Produce.ProduceRequestInput> = { key: M.Produce.API_KEY, name: 'Produce', isFlexible: M.Produce.isFlexible, encode: M.Produce.encodeProduceRequest };
const createTopics: Api<M.CreateTopics.CreateTopicsRequestInput> = { key: M.CreateTopics.API_KEY, name: 'CreateTopics', isFlexible: M.CreateTopics.isFlexible, encode: M.CreateTopics.encodeCreateTopicsRequest };

/** Response header v1 (tagged fields) for flexible versions, except ApiVersions (KIP-511). */
export function responseHeaderVersion(apiKey: number, version: number, flexible: boolean): number {
  return flexible && apiKey !== M.ApiVersions.API_KEY ? 1 : 0;
}

async function main(address: string): Promise<void> {
  const m = /^(.+):(\d+)$/.exec(address);
  if (!m) throw new Error(`usage: node test/unit/protocol/capture.ts host:port (got ${JSON.stringify(address)})`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'captures');
  mkdirSync(out, { recursive: true });
  const conn = await RawConnection.open(m[1], Number(m[2]));
  const save = (api: string, apiKey: number, version: number, x: { request: Buffer; response: Buffer; correlationId: number }, note: string) => {
    const capture: Capture = {
      api, apiKey, version, correlationId: x.correlationId, kafkaVersion: KAFKA_VERSION,
      note: `captured from Apache Kafka ${KAFKA_VERSION} (one KRaft node) by test/unit/protocol/capture.ts; ${note}`,
      request: x.request.toString('hex'), response: x.response.toString('hex'),
    };
    const file = join(out, `${api.toLowerCase()}-v${version}.json`);
    writeFileSync(file, JSON.stringify(capture, null, 2) + '\n');
    console.log(`${file}: request ${x.request.length} bytes, response ${x.response.length} bytes`);
  };

  try {
    save('ApiVersions', 18, 0, await conn.exchange(apiVersions, 0, {}), 'ApiVersions v0, empty body');
    save('ApiVersions', 18, 3, await conn.exchange(apiVersions, 3, { clientSoftwareName: 'kafkarx', clientSoftwareVersion: '0.1.0' }), 'ApiVersions v3 with client software name and version');

    // Created through our own CreateTopics encoder (not captured); an existing topic is fine.
    const created = await conn.exchange(createTopics, 7, {
      topics: [{ name: CAPTURE_TOPIC, numPartitions: CAPTURE_PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
    });
    const r = new Reader(created.response, 4);
    M.ResponseHeader.decodeResponseHeader(r, 1);
    const res = M.CreateTopics.decodeCreateTopicsResponse(r, 7);
    const code = res.topics[0]?.errorCode;
    if (code !== 0 && code !== 36 /* TOPIC_ALREADY_EXISTS */) throw new Error(`CreateTopics failed with error code ${code}`);

    // Wait until every partition has a leader, so the captured Metadata answers are complete.
    for (let i = 0; ; i++) {
      const x = await conn.exchange(metadata, 12, { topics: [{ name: CAPTURE_TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const mr = new Reader(x.response, 4);
      M.ResponseHeader.decodeResponseHeader(mr, 1);
      const md = M.Metadata.decodeMetadataResponse(mr, 12);
      const t = md.topics[0];
      if (t && t.errorCode === 0 && t.partitions.length === CAPTURE_PARTITIONS && t.partitions.every((p) => p.leaderId >= 0)) break;
      if (i > 50) throw new Error('the capture topic got no leaders in time');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    for (const v of [4, 9, 12, 13]) {
      save('Metadata', 3, v, await conn.exchange(metadata, v, { topics: [{ name: CAPTURE_TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
        `Metadata v${v} for topic ${CAPTURE_TOPIC} (${CAPTURE_PARTITIONS} partitions)`);
    }

    for (const v of [3, 7, 9, 11, 12]) {
      const builder = new RecordBatchBuilder(256);
      builder.append(Date.now(), Buffer.from(`key-v${v}`), Buffer.from(`value for Produce v${v}`), [{ key: 'h', value: Buffer.from('1') }]);
      builder.close();
      save('Produce', 0, v, await conn.exchange(produce, v, {
        transactionalId: null, acks: 1, timeoutMs: 30_000,
        topicData: [{ name: CAPTURE_TOPIC, partitionData: [{ index: 0, records: builder.bytes() }] }],
      }), `Produce v${v}, acks=1, one uncompressed one-record batch to ${CAPTURE_TOPIC}/0`);
    }
  } finally {
    conn.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv[2] ?? '').catch((e: Error) => {
    console.error(e);
    process.exit(1);
  });
}
