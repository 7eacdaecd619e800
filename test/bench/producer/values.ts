// Values, prepared before the measured window. The JSON events are seeded, so every client sends
// the same bytes; the random values are incompressible and only the uncompressed rows use them.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { prng } from '../../unit/codec/fixtures.ts';
import type { Values } from './types.ts';

/** Distinct values cycled through, so a codec never sees the same record twice within a batch. */
export const POOL = 4096;

export const VALUE_SIZE: Record<Exclude<Values, 'json'>, number> = { bytes100: 100, bytes1k: 1024, bytes10k: 10_240 };

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The value pool of a run. Random values are printable (no newline), so the same pool can be
 * written one per line for kcat; without compression, what the bytes are does not matter.
 */
export function valuePool(kind: Values): Buffer[] {
  if (kind === 'json') return orderEventValues(POOL);
  const size = VALUE_SIZE[kind];
  const random = prng(size);
  return Array.from({ length: POOL }, () => {
    const b = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) b[i] = ALPHABET.charCodeAt(Math.floor(random() * 64));
    return b;
  });
}

/** Keys for the keyed rows: 4096 distinct user ids, partitioned by murmur2 as the Java client does. */
export function keyPool(): Buffer[] {
  return Array.from({ length: POOL }, (_, i) => Buffer.from(`user-${(i * 7919) % 100_000}`));
}

export function sumValueBytes(values: Buffer[], records: number): number {
  let total = 0;
  for (let i = 0; i < records; i++) total += values[i % POOL].length;
  return total;
}

const STATUSES = ['created', 'paid', 'packed', 'shipped', 'delivered', 'cancelled'];
const CITIES = ['Berlin', 'Lyon', 'Porto', 'Gdansk', 'Utrecht', 'Bologna', 'Tartu', 'Graz', 'Cork', 'Brno'];
const CHANNELS = ['web', 'ios', 'android', 'store'];

/** Order events as a shop would publish them: 150-300 bytes of JSON, field names repeating. */
export function orderEventValues(count: number): Buffer[] {
  const random = prng(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  return Array.from({ length: count }, (_, i) => {
    const lines = 1 + Math.floor(random() * 3);
    return Buffer.from(JSON.stringify({
      type: 'order.' + pick(STATUSES),
      orderId: `ord-${(48_000_000 + i * 13 + Math.floor(random() * 11)).toString(36)}`,
      customerId: `cus-${Math.floor(random() * 250_000)}`,
      at: new Date(Date.UTC(2025, 5, 1) + i * 731 + Math.floor(random() * 700)).toISOString(),
      channel: pick(CHANNELS),
      city: pick(CITIES),
      currency: 'EUR',
      items: Array.from({ length: lines }, () => ({ sku: `SKU-${10_000 + Math.floor(random() * 9000)}`, qty: 1 + Math.floor(random() * 3), price: Math.round(random() * 15_000) / 100 })),
    }));
  });
}

/**
 * Writes `records` lines cycling through the pool (kcat -l reads them in that order, as the Node
 * clients do), `key<TAB>value` when keyed; or the pool once (`records` undefined) for Java's
 * --payload-file, which picks a line at random per record.
 */
export async function writePayloadFile(file: string, kind: Values, records: number | undefined, keyed: boolean): Promise<void> {
  const values = valuePool(kind);
  const keys = keyed ? keyPool() : undefined;
  const out = createWriteStream(file);
  const n = records ?? POOL;
  const NL = Buffer.from('\n');
  const TAB = Buffer.from('\t');
  for (let i = 0; i < n; i++) {
    const parts = keys ? [keys[i % POOL], TAB, values[i % POOL], NL] : [values[i % POOL], NL];
    if (!out.write(Buffer.concat(parts))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}
