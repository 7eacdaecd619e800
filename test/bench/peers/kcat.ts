// librdkafka through kcat -P, reading one value per line from a file (-l), librdkafka's defaults
// but for acks, idempotence and codec. Wall time and CPU are kcat's whole life less those of a
// 1-line run of the same command (start, connecting, metadata, the final flush's wait).
import { writeFileSync } from 'node:fs';
import { kcatInfo } from '../../broker/kcat.ts';
import { cannotMeasureTools, runTool } from '../producer/measure.ts';
import type { Measured, RunSpec } from '../producer/types.ts';

export async function runKcat(spec: RunSpec): Promise<Measured | { skipped: string }> {
  if (spec.topics.length !== 1) return { skipped: 'kcat -P writes one topic' };
  const missing = cannotMeasureTools();
  if (missing) return { skipped: missing };
  let command: string;
  try {
    ({ command } = kcatInfo());
  } catch (e) {
    return { skipped: (e as Error).message };
  }
  const idempotent = spec.idempotent ?? spec.acks === -1;
  const args = (file: string) => ['-P', '-b', spec.bootstrap, '-t', spec.topics[0], '-l', file, '-z', spec.codec,
    '-X', `acks=${spec.acks === -1 ? 'all' : '1'}`, '-X', `enable.idempotence=${idempotent}`,
    ...(spec.batchBytes === undefined ? [] : ['-X', `batch.size=${spec.batchBytes}`]),
    // Keyed: `key<TAB>value` lines, partitioned by murmur2 like the Java client and kafkarx.
    ...(spec.keyed ? ['-K', '\t', '-X', 'partitioner=murmur2_random'] : [])];
  const probe = `${spec.payloadFile!}.one`;
  writeFileSync(probe, spec.keyed ? 'k\tv\n' : 'v\n');
  const startup = await runTool(command, args(probe), undefined, 60_000);
  const run = await runTool(command, args(spec.payloadFile!), spec.brokerPid, 10 * 60_000);
  if (/fail|error/i.test(run.stderr)) throw new Error(`kcat reported errors:\n${run.stderr.slice(-2000)}`);
  return {
    records: spec.records, wallMs: run.wallMs - startup.wallMs, cpuUs: run.cpuUs - startup.cpuUs, maxRssKb: run.maxRssKb,
    brokerCpuUs: run.brokerCpuUs, machineCpuUs: run.machineCpuUs, startupCpuUs: startup.cpuUs, startupWallMs: startup.wallMs,
    windowUs: [0, 0], processCpuUs: run.cpuUs, outside: 1,
  };
}
