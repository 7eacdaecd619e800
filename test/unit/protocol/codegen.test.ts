import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultJarPath, generateModules, jarSource, SCHEMA_FIXTURE_PATH, schemaFixture, stripComments } from '../../../tools/codegen/generator.ts';

const jar = defaultJarPath();
const haveJar = existsSync(jar);
const root = process.cwd();

test('schema comments are stripped, but not inside strings', () => {
  const text = '{ // a comment\n "about": "see http://x // y", "n": 1 // another\n}';
  expect(JSON.parse(stripComments(text))).toEqual({ about: 'see http://x // y', n: 1 });
});

if (!haveJar && process.env.CI === 'true') {
  test('the Kafka client jar is present in CI', () => {
    throw new Error(`${jar} is missing: CI must fetch the Kafka jars before the unit tests, or the generated protocol code goes unchecked`);
  });
}

(haveJar ? test : test.skip)('the checked-in generated code is what the generator makes from the jar', () => {
  const src = jarSource(jar);
  const out = mkdtempSync(join(tmpdir(), 'kafkarx-codegen-'));
  try {
    const files = generateModules(src);
    for (const [name, code] of files) writeFileSync(join(out, name), code);
    writeFileSync(join(out, 'schemas.json'), schemaFixture(src));

    const messagesDir = join(root, 'src', 'protocol', 'messages');
    expect(readdirSync(messagesDir).sort()).toEqual([...files.keys()].sort());
    for (const name of files.keys()) {
      expect({ name, code: readFileSync(join(messagesDir, name), 'utf8') }).toEqual({ name, code: readFileSync(join(out, name), 'utf8') });
    }
    expect(readFileSync(join(root, SCHEMA_FIXTURE_PATH), 'utf8')).toBe(readFileSync(join(out, 'schemas.json'), 'utf8'));
    // Deterministic: a second run makes the same bytes.
    expect(generateModules(src)).toEqual(files);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
