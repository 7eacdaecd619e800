/**
 * Inputs at least this long go to node:zlib's asynchronous API (libuv thread pool); shorter ones
 * compress on the calling thread, where the thread-pool round trip costs more than it saves.
 *
 * Measured with test/bench/codecs.bench.ts (Node 24, 2 vCPUs, JSON order events), event-loop time
 * per batch sync -> async: gzip 16 KiB 0.16 -> 0.03 ms, 64 KiB 0.9 -> 0.09 ms, 1 MiB 26 -> 4 ms;
 * zstd 16 KiB 0.10 -> 0.11 ms, 64 KiB 0.18 -> 0.12 ms, 256 KiB 0.87 -> 0.22 ms, 1 MiB 3.6 -> 0.8 ms.
 * Below 16 KiB async only adds latency (about 0.1 ms per batch). 64 KiB is where both codecs gain.
 */
export const ASYNC_MIN_BYTES = 64 * 1024;
