import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
}, 120_000);
