import { spawn } from 'node:child_process';
import { bootstrap, consumeWithConsoleConsumer, uniqueTopic } from '../broker/reference.ts';

function run(file: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=kafkarx-source', file], { env: { ...process.env, KAFKA_BROKERS: bootstrap(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test("the README's example runs as examples/orders.ts: 100 orders, each acknowledged with its offset", async () => {
  const topic = uniqueTopic('orders');
  const { code, stdout, stderr } = await run('examples/orders.ts', { ORDERS_TOPIC: topic });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(100);
  for (const line of lines) expect(line).toMatch(new RegExp(`^${topic} \\d+ \\d+$`));
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 100 });
  expect(consumed.map((c) => JSON.parse(c.value!.toString()).id).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(consumed.every((c) => c.headers[0][0] === 'source' && c.headers[0][1]!.toString() === 'web')).toBe(true);
}, 60_000);

test('npm run demo streams its event flow and prints a summary with per-partition offsets', async () => {
  const { code, stdout } = await run('examples/demo.ts', { DEMO_RECORDS: '20000' });
  expect(code).toBe(0);
  expect(stdout).toMatch(/demo: 20,000 records in [\d.]+ s — \d+ records\/s/);
  const offsets = [...stdout.matchAll(/partition (\d): (\d+)/g)].map((m) => Number(m[2]) + 1);
  expect(offsets).toHaveLength(6);
  expect(offsets.reduce((a, b) => a + b, 0)).toBe(20_000);
}, 120_000);

test('examples/prometheus.ts exports the metrics through prom-client: record-send-total is the 1,000 records it sent', async () => {
  const topic = uniqueTopic('prometheus');
  const { code, stdout, stderr } = await run('examples/prometheus.ts', { METRICS_TOPIC: topic });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toContain('kafkarx_producer_record_send_total{client_id="prometheus-example"} 1000\n');
  expect(stdout).toContain(`kafkarx_producer_topic_record_send_total{client_id="prometheus-example",topic="${topic}"} 1000\n`);
  expect(stdout).toMatch(/^kafkarx_producer_node_request_total\{client_id="prometheus-example",node_id="node-\d+"\} \d+$/m);
  expect(stdout).toMatch(/^# TYPE kafkarx_producer_buffer_available_bytes gauge$/m);
}, 60_000);
