// One cold activation, in a fresh process: loads the extension bundle the way VS Code's extension host does
// (require, then activate(context)) with the `vscode` stand-in installed, and prints the timings as JSON.
//   node out/bench/activationProbe.js <dist/extension.js> <storage dir>

import { extensionContext, installVscodeShim, registrations } from './vscodeShim';

interface ExtensionModule {
  activate(context: unknown): unknown;
  deactivate?(): unknown;
}

function main(): void {
  const [bundle, storage] = process.argv.slice(2);
  if (!bundle || !storage) throw new Error('usage: activationProbe.js <bundle> <storage dir>');
  installVscodeShim();
  const context = extensionContext(storage);
  // VS Code's extension host has these loaded before any extension; loading them is not the extension's cost.
  for (const builtin of ['node:http', 'node:https', 'node:net', 'node:tls', 'node:crypto', 'node:zlib', 'node:stream', 'node:url', 'node:os', 'node:child_process']) {
    require(builtin);
  }
  const start = process.hrtime.bigint();
  const extension = require(bundle) as ExtensionModule;
  const loaded = process.hrtime.bigint();
  const api = extension.activate(context);
  const activated = process.hrtime.bigint();
  if (!api || typeof api !== 'object') throw new Error('activate() returned no API object');
  process.stdout.write(
    JSON.stringify({
      requireMs: Number(loaded - start) / 1e6,
      activateMs: Number(activated - loaded) / 1e6,
      commands: registrations.commands.length,
      treeViews: registrations.treeViews,
      fileSystems: registrations.fileSystems,
    }) + '\n',
  );
  for (const subscription of context.subscriptions) subscription.dispose();
  extension.deactivate?.();
  // Whatever activate() started in the background (wrangler dev detection) must not keep the probe alive.
  setTimeout(() => process.exit(0), 2000).unref();
}

main();
