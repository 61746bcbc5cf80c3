// npm run bench                       every suite, full size
// npm run bench -- <suite...> [--quick]
// Suites: local, rest, tree, activation. Each writes bench/results/<suite>.json and prints its table; at the end
// the chart of every result present is drawn (docs/bench-ratios.svg when all of them are full runs).

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCharts } from './chart';
import { log, renderMarkdownTable, renderTable, RESULTS_DIR, writeSuiteResult, type RunOptions, type SuiteResult } from './harness';

type Suite = (options: RunOptions) => Promise<SuiteResult>;

// Loaded on demand (require, not import(): the build emits CommonJS), so one suite's dependencies (Miniflare,
// the vscode stand-in) stay out of the others' runs.
const SUITES: Record<string, () => Suite> = {
  local: () => (require('./suites/local') as typeof import('./suites/local')).runLocalSuite,
  rest: () => (require('./suites/rest') as typeof import('./suites/rest')).runRestSuite,
  tree: () => (require('./suites/tree') as typeof import('./suites/tree')).runTreeSuite,
  activation: () => (require('./suites/activation') as typeof import('./suites/activation')).runActivationSuite,
};

const USAGE = `usage: npm run bench -- [${Object.keys(SUITES).join('|')}...] [--quick]`;

function parseArgs(argv: string[]): { suites: string[]; quick: boolean } {
  const suites: string[] = [];
  let quick = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg in SUITES) suites.push(arg);
    else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return { suites: suites.length ? suites : Object.keys(SUITES), quick };
}

export function readResults(): SuiteResult[] {
  if (!existsSync(RESULTS_DIR)) return [];
  const order = Object.keys(SUITES);
  return readdirSync(RESULTS_DIR)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(RESULTS_DIR, name), 'utf8')) as SuiteResult)
    .filter((result) => order.includes(result.suite))
    .sort((a, b) => order.indexOf(a.suite) - order.indexOf(b.suite));
}

async function main(): Promise<void> {
  const { suites, quick } = parseArgs(process.argv.slice(2));
  let missed = 0;
  const failed: string[] = [];
  for (const name of suites) {
    const started = Date.now();
    log(`\n=== ${name}${quick ? ' (quick)' : ''} ===`);
    try {
      const result = await SUITES[name]()({ quick });
      const file = writeSuiteResult(result);
      log(`\n${renderTable(result)}\n(${((Date.now() - started) / 1000).toFixed(0)} s; ${file})`);
      missed += result.cases.filter((item) => !item.met).length;
    } catch (error) {
      failed.push(name);
      log(`${name} could not run: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    }
  }
  const results = readResults();
  const charts = writeCharts(results);
  // The Markdown table of every result present, for docs/performance.md.
  const summary = join(RESULTS_DIR, 'summary.md');
  writeFileSync(summary, renderMarkdownTable(results) + '\n');
  log(`\nchart: ${charts.join(', ')}\ntable: ${summary}`);
  if (failed.length) log(`suites that failed to run: ${failed.join(', ')}`);
  log(`${missed} target(s) missed`);
  // A missed target is a finding, not a failure of the command; a suite that could not run is.
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
