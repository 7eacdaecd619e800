// Checks our codecs against Kafka's Java client: Java decompresses what we write, and we decompress
// what Java writes. Runs where `java` (11+, for single-file source launch) and the Kafka jars are
// present; under CI=true it always runs, fetching the jars if needed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lz4js from 'lz4js';
import { ensureKafkaJars } from '../../broker/jars.ts';
import { cacheDir, KAFKA_VERSION, projectRoot } from '../../broker/paths.ts';
import { codecFor, gzipPako, lz4, LZ4_BLOCK_SIZE, zstdFzstd, type Codec } from '../../../src/codec/index.ts';
import { lateMatchBlock, orderEvents, randomBytes } from './fixtures.ts';

const CI = process.env.CI === 'true';

function localLibs(): string | undefined {
  const libs = process.env.KAFKARX_KAFKA_LIBS ?? join(cacheDir(), `kafka-${KAFKA_VERSION}`, 'libs');
  const hasJava = spawnSync('java', ['-version']).status === 0;
  return hasJava && existsSync(join(libs, `kafka-clients-${KAFKA_VERSION}.jar`)) ? libs : undefined;
}

const libs = CI ? undefined : localLibs();
const run = CI || libs !== undefined;
if (!run) console.warn('codec/java.test.ts skipped: no `java` on PATH or no Kafka jars in the cache');

const INPUTS: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  one: Buffer.from([0x7b]),
  json100: orderEvents(100),
  json64k1: orderEvents(64 * 1024 + 1),
  json128k: orderEvents(128 * 1024),
  json1m: orderEvents(1_000_003),
  random64k1: randomBytes(64 * 1024 + 1),
  late: lateMatchBlock(),
};

interface Case {
  readonly codec: string;
  readonly input: string;
  readonly file: string;
  readonly compress: () => Buffer;
}

const OUR_CASES: readonly Case[] = [
  ...['gzip', 'snappy', 'lz4', 'zstd'].flatMap((name) => Object.entries(INPUTS).map(([input, raw]) => ({
    codec: name, input, file: `${input}.${name}`, compress: () => codecFor(name).compress(raw),
  }))),
  ...([['gzip', 1], ['gzip', 9], ['zstd', -5], ['zstd', 19]] as const).map(([name, level]) => ({
    codec: name, input: 'json1m', file: `json1m.${name}.level${level}`, compress: () => codecFor(name).compress(INPUTS.json1m, level),
  })),
];

// What lz4js writes on its own, which Kafka cannot read; kept to show the checks can fail.
function lz4jsBlockInOurFrame(input: Buffer): Buffer {
  const block = Buffer.alloc(lz4js.compressBound(input.length));
  const length = lz4js.compressBlock(input, block, 0, input.length, new Uint32Array(1 << 16));
  const size = Buffer.alloc(4);
  size.writeUInt32LE(length);
  return Buffer.concat([lz4.compress(Buffer.alloc(0)).subarray(0, 7), size, block.subarray(0, length), Buffer.alloc(4)]);
}

const LZ4JS_CASES: readonly Case[] = [
  { codec: 'lz4', input: 'late', file: 'late.lz4js-frame', compress: () => Buffer.from(lz4js.compress(INPUTS.late)) },
  { codec: 'lz4', input: 'late', file: 'late.lz4js-block', compress: () => lz4jsBlockInOurFrame(INPUTS.late) },
];

(run ? describe : describe.skip)("against Kafka's Java client", () => {
  let dir: string;
  let verdicts: Map<string, string>;

  beforeAll(() => {
    const jars = libs ?? ensureKafkaJars().libs;
    dir = mkdtempSync(join(tmpdir(), 'kafkarx-codec-'));
    for (const [input, raw] of Object.entries(INPUTS)) writeFileSync(join(dir, `${input}.raw`), raw);
    const cases = [...OUR_CASES, ...LZ4JS_CASES];
    for (const c of cases) writeFileSync(join(dir, c.file), c.compress());
    writeFileSync(join(dir, 'cases.tsv'), cases.map((c) => `${c.codec}\t${c.input}.raw\t${c.file}\t${c.file}.java\n`).join(''));
    const source = join(projectRoot(), 'test', 'unit', 'codec', 'KafkaCodecCheck.java');
    const java = spawnSync('java', ['-cp', `${jars}/*`, source, dir], { encoding: 'utf8', timeout: 90_000 });
    if (java.status !== 0) throw new Error(`KafkaCodecCheck failed (${java.error?.message ?? java.status}):\n${java.stderr}`);
    verdicts = new Map(java.stdout.trim().split('\n').map((line) => line.split('\t') as [string, string]));
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.each(OUR_CASES.map((c) => [c.file]))('Java decompresses our %s', (file) => {
    expect(verdicts.get(file)).toBe('ok');
  });

  test("Java rejects lz4js's own frame (linked blocks) and its late-match block (past MFLIMIT)", () => {
    expect(verdicts.get('late.lz4js-frame')).toMatch(/Dependent block stream is unsupported/);
    expect(verdicts.get('late.lz4js-block')).toMatch(/LZ4Exception/);
  });

  const decoders: Array<readonly [string, Codec]> = [
    ...['gzip', 'snappy', 'lz4', 'zstd'].map((name) => [`${name}/${codecFor(name).impl}`, codecFor(name)] as const),
    ['gzip/pako', gzipPako],
    ['zstd/fzstd', zstdFzstd],
  ];
  test.each(decoders)('%s decompresses what Java compressed', (_label, codec) => {
    for (const c of OUR_CASES.filter((k) => k.codec === codec.name)) {
      const java = readFileSync(join(dir, `${c.file}.java`));
      expect([c.file, codec.decompress(java).equals(INPUTS[c.input])]).toEqual([c.file, true]);
    }
  });
});
