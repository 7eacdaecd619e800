// Kafka's own Java producer through its benchmark tool, org.apache.kafka.tools.ProducerPerformance
// (kafka-producer-perf-test.sh), in its own JVM with the options that script gives it. Its
// records/s are its own (first send to last acknowledgement); its CPU is the JVM's rusage less
// that of a 1-record run of the same command (JVM start, class loading, connecting, metadata).
import { ensureKafkaJars } from '../../broker/jars.ts';
import { toolLogConfig } from '../../broker/java.ts';
import { cannotMeasureTools, runTool } from '../producer/measure.ts';
import { VALUE_SIZE } from '../producer/values.ts';
import type { Measured, RunSpec } from '../producer/types.ts';

// kafka-producer-perf-test.sh's heap and kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS.
const JVM = ['-Xmx512M', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent', '-Djava.awt.headless=true'];

export async function runJava(spec: RunSpec): Promise<Measured | { skipped: string }> {
  const missing = cannotMeasureTools();
  if (missing) return { skipped: missing };
  if (spec.keyed) return { skipped: 'ProducerPerformance sends keyless records only' };
  if (spec.topics.length !== 1) return { skipped: 'ProducerPerformance writes one topic' };
  const payload = spec.values === 'json'
    ? ['--payload-file', spec.payloadFile!]
    : ['--record-size', String(VALUE_SIZE[spec.values])];
  const idempotent = spec.idempotent ?? spec.acks === -1;
  const command = (records: number) => [...JVM, `-Dlog4j2.configurationFile=${toolLogConfig()}`, '-cp', `${ensureKafkaJars().tools}/*`,
    'org.apache.kafka.tools.ProducerPerformance', '--topic', spec.topics[0], '--num-records', String(records), '--throughput', '-1', ...payload,
    '--producer-props', `bootstrap.servers=${spec.bootstrap}`, `acks=${spec.acks === -1 ? 'all' : '1'}`, `enable.idempotence=${idempotent}`,
    `compression.type=${spec.codec}`, ...(spec.batchBytes === undefined ? [] : [`batch.size=${spec.batchBytes}`])];
  const startup = await runTool('java', command(1), undefined, 120_000);
  const run = await runTool('java', command(spec.records), spec.brokerPid, 10 * 60_000);
  // "1000000 records sent, 341997.3 records/sec (32.62 MB/sec), 45.3 ms avg latency, ..." (last line)
  const m = /(\d+) records sent, ([\d.]+) records\/sec/.exec(run.stdout.trim().split('\n').pop() ?? '');
  if (!m) throw new Error(`ProducerPerformance printed no summary:\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
  if (Number(m[1]) !== spec.records) throw new Error(`ProducerPerformance sent ${m[1]} of ${spec.records} records`);
  return {
    records: spec.records, wallMs: (spec.records / Number(m[2])) * 1000, cpuUs: run.cpuUs - startup.cpuUs, maxRssKb: run.maxRssKb,
    brokerCpuUs: run.brokerCpuUs, machineCpuUs: run.machineCpuUs, startupCpuUs: startup.cpuUs, startupWallMs: startup.wallMs,
    // Whole-process figures: "other CPU" is what the machine used beyond the JVM's whole life.
    windowUs: [0, 0], processCpuUs: run.cpuUs, outside: 1,
  };
}
