import { createProducer } from 'kafkarx';
import { toKafka, fromPullSource } from 'kafkarx/operators';
import { lastValueFrom, count } from 'rxjs';
const brokers = [process.env.KAFKA_BROKERS ?? '127.0.0.1:34431'];
const producer = createProducer({ brokers, acks: Number(process.env.ACKS ?? 1) as 1 });
const value = Buffer.alloc(100, 'a');
const n = Number(process.env.N ?? 1_000_000);
const topic = process.env.TOPIC ?? 'perf-' + Date.now();
await producer.send({ topic, value: 'warm' });
function* gen() { for (let i = 0; i < n; i++) yield { topic, value }; }
const c0 = process.cpuUsage(); const t0 = performance.now();
const c = await lastValueFrom(fromPullSource(gen(), producer).pipe(toKafka(producer), count()));
const t = performance.now() - t0; const cpu = process.cpuUsage(c0);
console.log(c, (n / t * 1000).toFixed(0), 'rec/s', ((cpu.user + cpu.system) / n * 1000).toFixed(0), 'ns cpu/rec', (t/1000).toFixed(2), 's');
await producer.close();
