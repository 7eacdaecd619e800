// One run in its own process: process.cpuUsage() then counts one client alone — its event loop,
// its libuv pool threads and GC threads — and no client inherits another's heap, JIT state or GC
// debt. Java and kcat run as their own processes under this one, measured from outside.
import { runJava } from '../peers/java.ts';
import { runKafkaJs } from '../peers/kafkajs.ts';
import { runKafkarx } from '../peers/kafkarx.ts';
import { runKcat } from '../peers/kcat.ts';
import { runPlatformatic } from '../peers/platformatic.ts';
import type { Measured, RunSpec } from './types.ts';
import { sumValueBytes, valuePool } from './values.ts';

export async function child(spec: RunSpec): Promise<void> {
  const values = valuePool(spec.values);
  const valueBytes = sumValueBytes(values, spec.records);
  let result: Measured | { skipped: string };
  switch (spec.client) {
    case 'kafkarx': result = await runKafkarx(spec, values); break;
    case 'kafkajs': result = await runKafkaJs(spec, values); break;
    case 'platformatic': result = await runPlatformatic(spec, values); break;
    case 'java': result = await runJava(spec); break;
    case 'kcat': result = await runKcat(spec); break;
  }
  process.stdout.write(`RESULT ${JSON.stringify({ ...result, valueBytes })}\n`);
}
