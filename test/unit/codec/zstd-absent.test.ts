// On a Node without node:zlib's zstd (before 22.15), importing kafkarx must work and only choosing
// zstd must fail. The zlib module seen by the codecs is replaced by one without the zstd functions.
jest.mock('node:zlib', () => {
  const actual = jest.requireActual<Record<string, unknown>>('node:zlib');
  const withoutZstd = Object.fromEntries(Object.entries(actual).filter(([k]) => !k.toLowerCase().includes('zstd')));
  return { ...withoutZstd, default: withoutZstd, __esModule: true };
});

test('without zstd in node:zlib, kafkarx loads and only zstd is refused, with the Node version needed', async () => {
  const { codecFor } = await import('../../../src/codec/registry.ts');
  await import('../../../src/index.ts');
  expect(codecFor('gzip').name).toBe('gzip');
  expect(codecFor('lz4').name).toBe('lz4');
  expect(() => codecFor('zstd')).toThrow(/zstd compression needs .*Node 22\.15 or later/);
});
