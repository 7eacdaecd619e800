/**
 * Regenerates src/protocol/messages/ (and the schema fixture the protocol tests drive every
 * message with) from the JSON message schemas inside Kafka's client jar:
 *
 *   bash .ci/node24.sh node tools/codegen/generate.ts [kafka-clients.jar]
 *
 * The jar defaults to the one the test harness caches (~/.cache/kafkarx, or $KAFKARX_CACHE).
 * The output is checked in, so building kafkarx never needs the jar.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultJarPath, generateModules, jarSource, SCHEMA_FIXTURE_PATH, schemaFixture } from './generator.ts';

const root = join(import.meta.dirname, '..', '..');
const outDir = join(root, 'src', 'protocol', 'messages');
const jarPath = process.argv[2] ?? defaultJarPath();

const src = jarSource(jarPath);
const files = generateModules(src);
mkdirSync(outDir, { recursive: true });
// Modules of APIs dropped from the list must not linger.
for (const name of readdirSync(outDir)) if (name.endsWith('.ts') && !files.has(name)) rmSync(join(outDir, name));
for (const [name, code] of files) writeFileSync(join(outDir, name), code);
const fixture = join(root, SCHEMA_FIXTURE_PATH);
mkdirSync(dirname(fixture), { recursive: true });
writeFileSync(fixture, schemaFixture(src));
process.stdout.write(`kafkarx: wrote ${files.size} modules to ${outDir} and ${SCHEMA_FIXTURE_PATH}, from ${jarPath}\n`);
