// kafkarx's metrics for Prometheus with prom-client (a dev dependency here; in your app,
// npm install prom-client): one gauge per metric, read from producer.metrics() at each scrape.
//   KAFKA_BROKERS=127.0.0.1:9092 node --conditions=kafkarx-source examples/prometheus.ts
// sends 1,000 records, prints the metrics as Prometheus reads them and exits; with SERVE=9464 it
// serves them on http://127.0.0.1:9464/metrics until interrupted.
import { createServer } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { from, lastValueFrom, map, range } from 'rxjs';
import { createProducer, type MetricsSnapshot, type Producer } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';

/** `record-send-total` → `kafkarx_producer_record_send_total` (the JMX exporter's shape for Java's). */
const metricName = (group: string, name: string) => `kafkarx_${group}_${name.replace(/-/g, '_')}`;

/** Registers one gauge per kafkarx metric, labelled by client, topic or node, read at scrape time. */
export function registerProducerMetrics(producer: Producer, registry: Registry, clientId: string): void {
  const first = producer.metrics();
  const groups: Array<{ group: string; label: 'topic' | 'node_id' | null; names: string[]; read: (s: MetricsSnapshot) => Array<[string | null, Record<string, number>]> }> = [
    { group: 'producer', label: null, names: Object.keys(first.producer), read: (s) => [[null, s.producer]] },
    { group: 'producer_topic', label: 'topic', names: Object.keys(TOPIC_EXAMPLE), read: (s) => Object.entries(s.topics) },
    { group: 'producer_node', label: 'node_id', names: Object.keys(NODE_EXAMPLE), read: (s) => Object.entries(s.nodes) },
  ];
  for (const { group, label, names, read } of groups) {
    for (const name of names) {
      new Gauge({
        name: metricName(group, name),
        help: `kafkarx ${group.replace('_', '-')}-metrics ${name} (the Java producer's meaning)`,
        labelNames: label ? ['client_id', label] : ['client_id'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [key, values] of read(producer.metrics())) {
            const value = values[name];
            if (Number.isNaN(value)) continue;
            this.set(label && key !== null ? { client_id: clientId, [label]: key } : { client_id: clientId }, value);
          }
        },
      });
    }
  }
}

// The metric names of the topic and node groups, known before any topic or node is.
const TOPIC_EXAMPLE: Record<keyof MetricsSnapshot['topics'][string], 0> = {
  'record-send-rate': 0, 'record-send-total': 0, 'byte-rate': 0, 'byte-total': 0, 'compression-rate': 0,
  'record-retry-rate': 0, 'record-retry-total': 0, 'record-error-rate': 0, 'record-error-total': 0,
};
const NODE_EXAMPLE: Record<keyof MetricsSnapshot['nodes'][string], 0> = {
  'request-rate': 0, 'request-total': 0, 'request-size-avg': 0, 'request-size-max': 0, 'response-rate': 0, 'response-total': 0,
  'outgoing-byte-rate': 0, 'outgoing-byte-total': 0, 'incoming-byte-rate': 0, 'incoming-byte-total': 0,
  'request-latency-avg': 0, 'request-latency-max': 0,
};

async function main(): Promise<void> {
  const clientId = 'prometheus-example';
  const producer = createProducer({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId });
  const registry = new Registry();
  registerProducerMetrics(producer, registry, clientId);
  const topic = process.env.METRICS_TOPIC ?? 'metrics-example';
  await lastValueFrom(range(0, 1000).pipe(map((i) => ({ topic, key: `k${i % 10}`, value: `event ${i}` })), toKafka(producer)));
  const port = Number(process.env.SERVE ?? 0);
  if (!port) {
    process.stdout.write(await registry.metrics());
    await producer.close();
    return;
  }
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), (e: Error) => res.writeHead(500).end(e.message));
  });
  server.listen(port, '127.0.0.1', () => console.log(`metrics on http://127.0.0.1:${port}/metrics`));
  process.once('SIGINT', () => {
    server.close();
    void lastValueFrom(from(producer.close()));
  });
}

await main();
