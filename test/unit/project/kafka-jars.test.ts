import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKafkaJars } from '../../broker/jars.ts';

// The harness must fail loudly, naming what it could not fetch and how to supply it, when Maven
// Central (here: mvn itself) is out of reach.
test('missing Kafka jars that cannot be fetched fail with a message naming the artifact and the remedies', () => {
  const cache = mkdtempSync(join(tmpdir(), 'kafkarx-cache-'));
  const saved = { PATH: process.env.PATH, KAFKARX_CACHE: process.env.KAFKARX_CACHE, LIBS: process.env.KAFKARX_KAFKA_LIBS };
  try {
    process.env.KAFKARX_CACHE = cache;
    process.env.PATH = '/nonexistent';
    delete process.env.KAFKARX_KAFKA_LIBS;
    expect(() => ensureKafkaJars()).toThrow(/could not fetch org\.apache\.kafka:kafka_2\.13:4\.1\.1.*mvn could not run.*KAFKARX_KAFKA_LIBS.*KAFKA_BROKERS/s);
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.KAFKARX_CACHE === undefined) delete process.env.KAFKARX_CACHE;
    else process.env.KAFKARX_CACHE = saved.KAFKARX_CACHE;
    if (saved.LIBS !== undefined) process.env.KAFKARX_KAFKA_LIBS = saved.LIBS;
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a KAFKARX_KAFKA_LIBS folder without the broker jar is refused by name', () => {
  const empty = mkdtempSync(join(tmpdir(), 'kafkarx-libs-'));
  const saved = process.env.KAFKARX_KAFKA_LIBS;
  try {
    process.env.KAFKARX_KAFKA_LIBS = empty;
    expect(() => ensureKafkaJars()).toThrow(`KAFKARX_KAFKA_LIBS=${empty} holds no kafka_2.13-4.1.1.jar`);
  } finally {
    if (saved === undefined) delete process.env.KAFKARX_KAFKA_LIBS;
    else process.env.KAFKARX_KAFKA_LIBS = saved;
    rmSync(empty, { recursive: true, force: true });
  }
});
