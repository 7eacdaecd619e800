import { asBuffer } from './bytes.ts';
import { validateLevel } from './levels.ts';
import type { Codec } from './types.ts';

/** Codec id 0: the records section is stored as is. */
export const none: Codec = {
  id: 0,
  name: 'none',
  impl: 'none',
  levels: undefined,
  compress(data, level) {
    validateLevel('none', level);
    return asBuffer(data);
  },
  async compressAsync(data, level) {
    return this.compress(data, level);
  },
  decompress(data) {
    return asBuffer(data);
  },
};
