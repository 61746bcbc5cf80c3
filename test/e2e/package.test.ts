// `npm run package` makes a .vsix that VS Code installs, and the native lmdb it ships loads in VS Code's Node.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVscodeServer, repoRoot } from './workbench';

describe('the packaged extension', () => {
  const vsix = join(repoRoot, 'kv-explorer.vsix');
  let scratch: string;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'kv-explorer-package-'));
  });

  after(() => {
    rmSync(scratch, { recursive: true, force: true });
    // The package build minifies dist/extension.js; put the development bundle (with source maps) back.
    spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--bundle-only'], { cwd: repoRoot, stdio: 'inherit' });
  });

  it('installs into code-server with lmdb working', async () => {
    rmSync(vsix, { force: true });
    const packaged = spawnSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(packaged.status, 0, `npm run package failed:\n${packaged.stdout}\n${packaged.stderr}`);
    assert.ok(existsSync(vsix), 'kv-explorer.vsix was written');

    const { ensureCodeServer, codeServerNode } = await loadVscodeServer();
    const codeServer = await ensureCodeServer();
    const extensionsDir = join(scratch, 'extensions');
    const installed = spawnSync(codeServerNode(), [codeServer, '--user-data-dir', join(scratch, 'user-data'),
      '--extensions-dir', extensionsDir, '--install-extension', vsix], { encoding: 'utf8' });
    assert.equal(installed.status, 0, `install failed:\n${installed.stdout}\n${installed.stderr}`);
    assert.match(installed.stdout, /successfully installed/);

    const extensionDir = readdirSync(extensionsDir).find((name) => name.startsWith('kv-explorer.kv-explorer-'));
    assert.ok(extensionDir, `extension folder in ${readdirSync(extensionsDir).join(', ')}`);
    const root = join(extensionsDir, extensionDir);
    assert.ok(existsSync(join(root, 'dist', 'extension.js')));
    assert.ok(!existsSync(join(root, 'src')) && !existsSync(join(root, 'node_modules', 'typescript')), 'no sources or dev dependencies');

    // The lmdb the package ships opens a store under the Node that runs VS Code's extension host.
    const script = `const { open } = require(${JSON.stringify(join(root, 'node_modules', 'lmdb'))});
      const db = open({ path: ${JSON.stringify(join(scratch, 'db'))} }); db.putSync('k', 'v'); process.stdout.write(db.get('k'));`;
    const lmdb = spawnSync(codeServerNode(), ['-e', script], { encoding: 'utf8' });
    assert.equal(lmdb.stdout, 'v', `lmdb from the package failed:\n${lmdb.stderr}`);
  });
});
