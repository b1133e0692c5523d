import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { dropDatabase } from '../src/db/admin.js';
import { PackRepository } from '../src/repositories/packs.js';
import { ValidationError } from '../src/errors.js';
import { expectErrorType } from '../src/testing/assertions.js';
import { uniqueName } from '../src/testing/fixtures/unique.js';

// The README's own example, taken from README.md as a reader copies it:
// type-checked as strict TypeScript, then run twice as a program of its own
// (tsx, as the README says) in a fresh folder, on a database that does not
// exist yet. `attune` resolves to src/ here rather than to a build in dist/:
// the same code, without making every test run build the package.

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** The fenced blocks of `language` in the README section headed `heading`. */
function codeBlocks(heading: string, language: string): string[] {
  const section = readme.split(/^## /m).find((part) => part.startsWith(`${heading}\n`));
  if (!section) throw new Error(`README.md has no section "## ${heading}"`);
  return [...section.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((match) => match[1]!);
}

const app = mkdtempSync(path.join(tmpdir(), 'attune-readme-'));
const { adminUrl } = inject('attuneTemplate');
const database = uniqueName('readme').replace(/[^a-z0-9_]/g, '_');

afterAll(async () => {
  const admin = createPool({ url: adminUrl, maxConnections: 1 });
  await dropDatabase(admin, database, { force: true }).finally(() => admin.end());
  rmSync(app, { recursive: true, force: true });
});

describe('the README example', () => {
  const blocks = codeBlocks('Using the data layer', 'ts');
  const example = path.join(app, 'example.mts');
  const tsconfig = path.join(app, 'tsconfig.json');
  writeFileSync(example, blocks[0] ?? '');
  // A consumer's settings (strict, NodeNext) with `attune` mapped onto the sources.
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        skipLibCheck: true, types: ['node'], paths: { attune: [path.join(repoRoot, 'src/index.ts')] },
      },
      files: ['example.mts'],
    }),
  );
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(app, 'node_modules'));

  it('is one TypeScript block', () => {
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toContain("from 'attune'");
  });

  it('type-checks under strict settings', () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    const file = program.getSourceFile(example)!;
    const problems = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `example.mts:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });

  /** Runs the example in its folder with tsx, with no Attune setting but the database URL. */
  function run(): { status: number | null; stdout: string; stderr: string } {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ATTUNE__') && name !== 'NODE_ENV'));
    const result = spawnSync(path.join(repoRoot, 'node_modules/.bin/tsx'), ['--tsconfig', tsconfig, example], {
      cwd: app,
      env: { ...env, ATTUNE__DATABASE__URL: withDatabase(adminUrl, database) },
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('runs as written on a database that does not exist yet, and again on the same one', () => {
    const first = run();
    expect(first).toEqual({ status: 0, stdout: 'execution 1 of hello.echo: succeeded\n', stderr: '' });
    const second = run();
    expect(second).toEqual({ status: 0, stdout: 'execution 2 of hello.echo: succeeded\n', stderr: '' });
  });
});

describe('the README quotes', () => {
  it('the validation error word for word', async () => {
    const quoted = /throws a `ValidationError` with the message\s+`([^`]+)`/.exec(readme)?.[1];
    expect(quoted).toBeDefined();
    const noSql = { query: () => Promise.reject(new Error('no SQL expected')) } as never;
    const error = await expectErrorType(PackRepository.create(noSql, { ref: 'Hello World', version: '1.0.0', name: 'Hello' }), ValidationError);
    expect(error.message).toBe(quoted);
  });

  it('`make help`: a make target for every npm command in the Commands table but `attune`', () => {
    const section = readme.split(/^## /m).find((part) => part.startsWith('Commands\n'))!;
    const scripts = [...section.matchAll(/`npm (?:run ([\w:-]+)|(test))\b/g)].map((m) => m[1] ?? m[2]!).filter((name) => name !== 'attune');
    expect(scripts).toEqual(expect.arrayContaining(['db:setup', 'test', 'bench']));
    const makefile = readFileSync(path.join(repoRoot, 'Makefile'), 'utf8');
    const made = new Set([...makefile.matchAll(/^\t\$\(NPM\) (?:run ([\w:-]+)|(test))$/gm)].map((m) => m[1] ?? m[2]!));
    expect(scripts.filter((name) => !made.has(name))).toEqual([]);
  });

  it('the Node.js version that package.json requires', () => {
    const engines = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const minimum = /^>=(\d+\.\d+)$/.exec(engines)?.[1];
    expect(readme).toContain(`Node.js ${minimum} or newer`);
    expect(readFileSync(path.join(repoRoot, 'test/README.md'), 'utf8')).toContain(`Node.js ${minimum} or newer`);
  });
});
