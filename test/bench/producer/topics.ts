// The bench's own bookkeeping, in-process through @platformatic/kafka's Admin client so that no
// tool's JVM competes with a measured run: topics, and what the broker stored (its end offsets and
// log sizes, the broker's own account).
export type Admin = InstanceType<typeof import('@platformatic/kafka').Admin>;

/** Creates the topics; KRaft refuses more than 10,000 partitions in one CreateTopics request. */
export async function createTopics(admin: Admin, sets: Array<{ names: string[]; partitions: number }>): Promise<void> {
  for (const { names, partitions } of sets) {
    const perRequest = Math.max(1, Math.min(50, Math.floor(10_000 / partitions)));
    for (let i = 0; i < names.length; i += perRequest) {
      await admin.createTopics({ topics: names.slice(i, i + perRequest), partitions, replicas: 1 }).catch((e: Error & { errors?: unknown[] }) => {
        throw new Error(`could not create ${partitions}-partition topics: ${e.message} ${JSON.stringify(e.errors ?? [], (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 2000)}`);
      });
    }
  }
}

/** Records (end offsets) and bytes (log sizes) the broker holds for the topics. */
export async function stored(admin: Admin, topics: string[], partitions: number): Promise<{ records: number; bytes: number }> {
  const all = Array.from({ length: partitions }, (_, i) => i);
  const offsets = await admin.listOffsets({ topics: topics.map((name) => ({ name, partitions: all.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) })) });
  const dirs = await admin.describeLogDirs({ topics: topics.map((name) => ({ name, partitions: all })) });
  let records = 0;
  for (const t of offsets) for (const p of t.partitions) records += Number(p.offset);
  let bytes = 0;
  for (const b of dirs) for (const d of b.results) for (const t of d.topics) for (const p of t.partitions) bytes += Number(p.partitionSize);
  return { records, bytes };
}

export async function ready(admin: Admin, topics: string[], partitions: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await stored(admin, topics, partitions);
      return;
    } catch (e) {
      if (attempt >= 300) throw new Error(`topics ${topics[0]}… are not ready after 5 minutes: ${(e as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}


/**
 * One record into every partition of the topics, before any measured run: a broker's first append
 * to a partition of a fresh topic costs it a few ms of CPU (its log segment and index files), which
 * at thousands of partitions would bound the first measured run's rate instead of the client.
 */
export async function prime(bootstrap: string, topics: string[], partitions: number): Promise<void> {
  const { createProducer } = await import('../../../src/index.ts');
  const producer = createProducer({ brokers: [bootstrap], clientId: 'kafkarx-bench-primer', acks: 1 });
  try {
    const value = Buffer.from('prime');
    const sends: Array<Promise<unknown>> = [];
    for (const topic of topics) for (let partition = 0; partition < partitions; partition++) sends.push(producer.send({ topic, partition, value }));
    await Promise.all(sends);
  } finally {
    await producer.close();
  }
}
