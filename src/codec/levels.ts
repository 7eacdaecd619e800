import { ConfigError } from './errors.ts';
import type { CompressionName, LevelRange } from './types.ts';

// Ranges and defaults as in Kafka's CompressionType, so a level valid for the Java producer is valid here.
export const GZIP_LEVELS: LevelRange = { min: 1, max: 9, default: -1, alsoAllowed: -1 };
export const LZ4_LEVELS: LevelRange = { min: 1, max: 17, default: 9 };
export const ZSTD_LEVELS: LevelRange = { min: -131072, max: 22, default: 3 };

const LEVELS: Readonly<Record<CompressionName, LevelRange | undefined>> = {
  none: undefined,
  gzip: GZIP_LEVELS,
  snappy: undefined,
  lz4: LZ4_LEVELS,
  zstd: ZSTD_LEVELS,
};

export function levelsOf(name: CompressionName): LevelRange | undefined {
  return LEVELS[name];
}

function describe(range: LevelRange): string {
  const span = `${range.min}..${range.max}`;
  return range.alsoAllowed === undefined ? span : `${span} or ${range.alsoAllowed}`;
}

/**
 * The level to compress with: `level`, or the default of `range` when undefined.
 * Throws a ConfigError naming the codec and its allowed levels when `level` is not one of them.
 */
export function levelIn(name: CompressionName, range: LevelRange, level: number | undefined): number {
  if (level === undefined) return range.default;
  if (Number.isInteger(level) && ((level >= range.min && level <= range.max) || level === range.alsoAllowed)) return level;
  throw new ConfigError(`compression level ${level} is not valid for ${name}: allowed levels are ${describe(range)}`);
}

/**
 * Checks a configured level for the named codec and returns the level to use (undefined for codecs
 * without levels). Throws a ConfigError for an invalid level, or for any level given to such a codec.
 */
export function validateLevel(name: CompressionName, level: number | undefined): number | undefined {
  const range = LEVELS[name];
  if (range !== undefined) return levelIn(name, range, level);
  if (level === undefined) return undefined;
  throw new ConfigError(`compression level ${level} given for ${name}, which has no compression levels`);
}
