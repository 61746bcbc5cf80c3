// Mocha reporter: mocha's spec output, plus the pass/fail counts written as JSON to $KV_TEST_COUNTS_FILE so
// scripts/test.mjs can add up every room (also from inside VS Code's extension host, which inherits the env).
import { writeFileSync } from 'node:fs';
import Mocha from 'mocha';

interface TestCounts {
  passed: number;
  failed: number;
  pending: number;
}

const COUNTS_FILE_ENV = 'KV_TEST_COUNTS_FILE';

class CountReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env[COUNTS_FILE_ENV];
      if (!file) return;
      const stats = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      const counts: TestCounts = { passed: stats.passes, failed: stats.failures, pending: stats.pending };
      writeFileSync(file, JSON.stringify(counts));
    });
  }
}

// `mocha --reporter <file>` takes the module's export itself as the reporter class (no `default`).
export = CountReporter;
