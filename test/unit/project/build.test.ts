import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The package as users get it: `npm run build` emits ESM, CommonJS and declarations, and both
// entry points load through package.json's `exports` in either module system.
test('the build emits ESM, CommonJS and .d.ts for kafkarx and kafkarx/operators', () => {
  const build = spawnSync('bash', ['.ci/build.sh'], { encoding: 'utf8', env: { ...process.env, PATH: `${process.cwd()}/node_modules/.bin:${process.env.PATH}` } });
  expect(build.stderr + build.stdout).toBe('');
  expect(build.status).toBe(0);
  for (const f of ['dist/esm/src/index.d.ts', 'dist/esm/operators/index.d.ts', 'dist/cjs/package.json']) expect(existsSync(f)).toBe(true);

  const cjs = spawnSync(process.execPath, ['-e', 'const k = require("kafkarx"); const o = require("kafkarx/operators"); console.log(typeof k.createProducer, typeof o.toKafka, typeof o.transactions)'], { encoding: 'utf8' });
  expect(cjs.stderr).toBe('');
  expect(cjs.stdout.trim()).toBe('function function function');
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', 'import { createProducer } from "kafkarx"; import { toKafka } from "kafkarx/operators"; console.log(typeof createProducer, typeof toKafka)'], { encoding: 'utf8' });
  expect(esm.stderr).toBe('');
  expect(esm.stdout.trim()).toBe('function function');

  // The published API is the API: Producer is an interface of its public methods only (what the
  // operators reach inside goes through src/producer/internals.ts), and no class to `new`.
  const declared = readFileSync('dist/esm/src/producer/producer.d.ts', 'utf8');
  const body = /export interface Producer \{([\s\S]*?)\n\}/.exec(declared)![1];
  const members = [...body.matchAll(/^ {4}(?:readonly )?([\w$]+)[?]?[(<:]/gm)].map((m) => m[1]);
  expect(members.sort()).toEqual(['close', 'closed', 'flush', 'metrics', 'metrics$', 'ready', 'send', 'transaction']);
  expect(declared).not.toMatch(/declare class/);
  const loaded = spawnSync(process.execPath, ['-e', 'const k = require("kafkarx"); console.log(Object.keys(k).filter((n) => /^Producer$|internals/i.test(n)).join() || "none")'], { encoding: 'utf8' });
  expect(loaded.stdout.trim()).toBe('none');
  // No declaration an entry point reaches names the internals module.
  const entryTypes = ['dist/esm/src/index.d.ts', 'dist/esm/operators/index.d.ts', 'dist/esm/src/testing/index.d.ts'];
  for (const dir of ['dist/esm/operators', 'dist/esm/src/producer']) {
    for (const f of readdirSync(dir)) if (f.endsWith('.d.ts') && f !== 'internals.d.ts') entryTypes.push(join(dir, f));
  }
  for (const f of entryTypes) expect([f, /from '[^']*internals/.test(readFileSync(f, 'utf8'))]).toEqual([f, false]);
}, 120_000);
