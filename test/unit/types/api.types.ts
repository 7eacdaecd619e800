// Type tests of the public API, tsd-style: each line below must type-check, and each line after a
// `@ts-expect-error` must not (an error that goes away fails too). types.test.ts runs the type
// checker on this file, so the unit group fails when a type stops catching a mistake.
import { of, type Observable, type OperatorFunction } from 'rxjs';
import { createProducer, json, string, type Producer, type ProducerRecord, type RecordMetadata, type RecordResult, type Transaction } from 'kafkarx';
import { toKafka, transactions, type TransactionOutcome } from 'kafkarx/operators';

/** Compiles only when `Actual` is exactly `Expected` (not merely assignable). */
export function expectType<Expected, Actual>(..._same: Equal<Expected, Actual> extends true ? [] : [Actual, 'is not', Expected]): void {}
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

declare const producer: Producer;
interface Order { id: number; total: number }

// ---- without serializers, keys and values are strings, bytes or null ----
const raw = of({ topic: 't', key: 'k', value: Buffer.from('v') }, { topic: 't', key: null, value: null }).pipe(toKafka(producer));
expectType<Observable<RecordMetadata<undefined>>, typeof raw>();
// @ts-expect-error a number key needs a serializer
of({ topic: 't', key: 7, value: 'v' }).pipe(toKafka(producer));
// @ts-expect-error an object value needs a serializer
of({ topic: 't', value: { id: 1 } }).pipe(toKafka(producer));
// @ts-expect-error undefined is not a value (null is a tombstone)
of({ topic: 't', value: undefined }).pipe(toKafka(producer));
// @ts-expect-error the same rule for send()
void producer.send({ topic: 't', key: 7, value: 'v' });
// @ts-expect-error and for a transaction's send()
const inTx = (tx: Transaction) => of({ topic: 't', value: 1 }).pipe(tx.send());
void inTx;

// ---- serializers decide what a key or value may be ----
const orders = of({ topic: 'orders', key: 'c-1', value: { id: 1, total: 2 } }).pipe(toKafka(producer, { value: json<Order>() }));
expectType<Observable<RecordMetadata<undefined>>, typeof orders>();
// @ts-expect-error the value does not match the serializer's type
of({ topic: 'orders', value: { id: '1' } }).pipe(toKafka(producer, { value: json<Order>() }));
// @ts-expect-error string() takes strings only
of({ topic: 't', key: 1, value: 'v' }).pipe(toKafka(producer, { key: string() }));
const keyed = of({ topic: 't', key: 42, value: 'v' }).pipe(toKafka(producer, { key: (k: number) => Buffer.from(String(k)) }));
expectType<Observable<RecordMetadata<undefined>>, typeof keyed>();

// ---- passthrough: P when every record carries one ----
const carried = of({ topic: 't', value: 'v', passthrough: { offset: 5n } }).pipe(toKafka(producer));
expectType<Observable<RecordMetadata<{ offset: bigint }>>, typeof carried>();
declare const maybe: Observable<ProducerRecord<string, string, number>>;
const optional = maybe.pipe(toKafka(producer));
expectType<Observable<RecordMetadata<number | undefined>>, typeof optional>();
const sent = producer.send({ topic: 't', value: 'v', passthrough: 'id-1' });
expectType<Promise<RecordMetadata<string>>, typeof sent>();

// ---- error modes: 'results', and a mode chosen at run time ----
const recordType = { topic: 't', value: 'v', passthrough: 1 };
type In = typeof recordType;
const results = of(recordType).pipe(toKafka(producer, { errorMode: 'results' }));
expectType<Observable<RecordResult<number, In>>, typeof results>();
declare const mode: 'error' | 'results';
const either = of(recordType).pipe(toKafka(producer, { errorMode: mode }));
expectType<Observable<RecordMetadata<number> | RecordResult<number, In>>, typeof either>();
// @ts-expect-error no such mode
of(recordType).pipe(toKafka(producer, { errorMode: 'ignore' }));
const ordered = of(recordType).pipe(toKafka(producer, { errorMode: 'results', ordered: true }));
expectType<Observable<RecordResult<number, In>>, typeof ordered>();

// ---- transactions ----
const scope = producer.transaction((tx: Transaction) => of(recordType).pipe(tx.send()));
expectType<Observable<RecordMetadata<number>>, typeof scope>();
const stream = of([recordType]).pipe(transactions(producer));
expectType<Observable<TransactionOutcome<number>>, typeof stream>();

// ---- the producer is its API only ----
const made: Producer = createProducer({ brokers: ['127.0.0.1:9092'] });
void made;
// @ts-expect-error its memory budget is not part of the API
void producer.memory;
// @ts-expect-error nor its sender
void producer.sender;
// @ts-expect-error nor its settings
void producer.config;
// @ts-expect-error Producer is a type: createProducer() makes one
void new Producer({ brokers: [] });
const stage: OperatorFunction<ProducerRecord, RecordMetadata<unknown>> = toKafka(producer);
void stage;
