// Jest runs TypeScript through swc, which strips types without checking them: this test runs the
// type checker on api.types.ts (the type tests of the public API), with the project's settings.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const file = resolve(__dirname, 'api.types.ts');
const source = readFileSync(file, 'utf8');

/** The type errors of api.types.ts, or of `text` put in its place. */
function typeErrors(text: string, old?: ts.Program): { errors: string[]; program: ts.Program } {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(__dirname, '../../../tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } })!;
  const host = ts.createCompilerHost(parsed.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => (resolve(name) === file ? ts.createSourceFile(name, text, version) : getSourceFile(name, version, ...rest));
  const program = ts.createProgram({ rootNames: [file], options: { ...parsed.options, noEmit: true }, host, oldProgram: old });
  const checked = program.getSourceFile(file)!;
  const diagnostics = [...program.getSyntacticDiagnostics(checked), ...program.getSemanticDiagnostics(checked)];
  const errors = diagnostics.map((d) => `${d.start === undefined ? '' : `line ${checked.getLineAndCharacterOfPosition(d.start).line + 1}: `}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  return { errors, program };
}

let program: ts.Program;

test('the type tests of the public API type-check: right uses compile, mistakes do not', () => {
  const checked = typeErrors(source);
  program = checked.program;
  expect(checked.errors).toEqual([]);
}, 120_000);

test('the type tests can fail: a wrong expectation and a mistake that compiles are both errors', () => {
  const wrongExpectation = source.replace('expectType<Promise<RecordMetadata<string>>, typeof sent>();', 'expectType<Promise<RecordMetadata<string | undefined>>, typeof sent>();');
  const notAMistake = source.replace("of({ topic: 't', key: 7, value: 'v' }).pipe(toKafka(producer));", "of({ topic: 't', key: '7', value: 'v' }).pipe(toKafka(producer));");
  expect(wrongExpectation).not.toBe(source);
  expect(notAMistake).not.toBe(source);
  expect(typeErrors(wrongExpectation, program).errors).toEqual([expect.stringMatching(/^line \d+: Expected 3 arguments, but got 0/)]);
  expect(typeErrors(notAMistake, program).errors).toEqual([expect.stringMatching(/^line \d+: Unused '@ts-expect-error' directive/)]);
}, 120_000);
