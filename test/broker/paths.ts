import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const KAFKA_VERSION = '4.1.1';

// Jest runs these files as CommonJS and Node 24 runs them as ESM, so neither __dirname nor
// import.meta is available to both: find the project from the working directory instead.
export function projectRoot(): string {
  let dir = process.cwd();
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'kafkarx') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`kafkarx: run this from inside the kafkarx project (cwd: ${process.cwd()})`);
    dir = parent;
  }
}

/** Jars and Node downloads survive between runs here; never inside the repository. */
export function cacheDir(): string {
  return process.env.KAFKARX_CACHE ?? join(homedir(), '.cache', 'kafkarx');
}

/** Broker data, configs and logs of this checkout: `.kafka/` (git-ignored). */
export function workDir(): string {
  return join(projectRoot(), '.kafka');
}
