// Deterministic test data for the codec tests and test/bench/codecs.bench.ts.

/** mulberry32: a small seeded PRNG, so every run compresses the same bytes. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const STATUSES = ['created', 'paid', 'packed', 'shipped', 'delivered', 'cancelled'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];
const CITIES = ['Berlin', 'Lyon', 'Porto', 'Gdansk', 'Utrecht', 'Bologna', 'Tartu', 'Graz'];

/**
 * A records section as a producer would batch it: order events of roughly 100-300 bytes of JSON,
 * each preceded by a few bytes standing in for the record's varint framing, cut to `size` bytes.
 */
export function orderEvents(size: number, seed = 1): Buffer {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const parts: Buffer[] = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const lines = Math.floor(random() * 3) + 1;
    const event = {
      orderId: `ord-${(1_000_000 + i * 7 + Math.floor(random() * 5)).toString(36)}`,
      customerId: `c${Math.floor(random() * 50_000)}`,
      status: pick(STATUSES),
      at: new Date(Date.UTC(2025, 0, 1) + i * 1013 + Math.floor(random() * 1000)).toISOString(),
      city: pick(CITIES),
      currency: pick(CURRENCIES),
      lines: Array.from({ length: lines }, () => ({
        sku: `SKU-${Math.floor(random() * 5000)}`,
        qty: Math.floor(random() * 4) + 1,
        price: Math.round(random() * 20_000) / 100,
      })),
    };
    const json = Buffer.from(JSON.stringify(event));
    const framing = Buffer.from([json.length & 0x7f, 0, Math.floor(random() * 256), 0, 0]);
    parts.push(framing, json);
    total += framing.length + json.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** Bytes that no codec can shrink. */
export function randomBytes(size: number, seed = 2): Buffer {
  const random = prng(seed);
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/**
 * 64 KiB (one full LZ4 block) on which lz4js starts its last match 10 bytes before the end, later
 * than the LZ4 block format allows (12): lz4-java rejects such a block.
 */
export function lateMatchBlock(): Buffer {
  const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => `{"id":${i},"sku":"A${i % 37}"}`).join(','));
  return text.subarray(3, 3 + 64 * 1024);
}
