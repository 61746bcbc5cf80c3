// The tests module VS Code's extension host loads (extensionTestsPath): runs mocha over the compiled integration
// tests and the reliability tests that need VS Code. Used by both runners in scripts/test.mjs (code-server and
// @vscode/test-electron). Env: KV_TEST_GREP filters tests, KV_TEST_COLOR=1 colours the spec output.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import CountReporter from '../support/count-reporter';

const compiledTestRoot = join(__dirname, '..'); // out/test

function findTests(dir: string, suffix: string, exclude?: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix) && !(exclude && name.endsWith(exclude)))
    .sort()
    .map((name) => join(dir, name));
}

export function testFiles(): string[] {
  return [
    ...findTests(join(compiledTestRoot, 'integration'), '.test.js'),
    ...findTests(join(compiledTestRoot, 'reliability'), '.vscode.test.js'),
  ];
}

export async function run(): Promise<void> {
  const grep = process.env.KV_TEST_GREP || undefined;
  const mocha = new Mocha({
    ui: 'bdd',
    timeout: 30_000,
    color: process.env.KV_TEST_COLOR === '1',
    reporter: CountReporter,
    grep,
  });
  const files = testFiles();
  // scripts/test.mjs shows the workbench's log from this line on (TESTS_MODULE_BANNER there).
  console.log(`KV Explorer tests in VS Code ${vscode.version}: ${files.length} file(s)${grep ? `, grep ${grep}` : ''}`);
  for (const file of files) mocha.addFile(file);
  await mocha.loadFilesAsync();
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}
