// Reading the worker name and dev port from wrangler configs, as wrangler dev would see them.
import assert from 'node:assert/strict';
import { readWranglerDevTarget, stripJsonc, WRANGLER_DEV_DEFAULT_PORT } from '../../src/core/wranglerConfig';

describe('readWranglerDevTarget', () => {
  it('reads name and [dev] port from wrangler.toml, ignoring comments and other tables', () => {
    const toml = [
      '# my worker',
      'name = "shop-api" # the name',
      'main = "src/index.ts"',
      '[[kv_namespaces]]',
      'binding = "CACHE"',
      'port = 1111',
      '[env.staging.dev]',
      'port = 2222',
      '[dev]',
      'ip = "127.0.0.1"',
      'port = 9001 # local',
    ].join('\n');
    assert.deepEqual(readWranglerDevTarget('wrangler.toml', toml), { name: 'shop-api', port: 9001 });
  });

  it('reads dotted and inline-table forms in TOML', () => {
    assert.equal(readWranglerDevTarget('wrangler.toml', 'name = "x"\ndev.port = 8800\n').port, 8800);
    assert.equal(readWranglerDevTarget('wrangler.toml', "name = 'x'\ndev = { ip = \"localhost\", port = 8801 }\n").port, 8801);
  });

  it('falls back to port 8787 when the config sets none', () => {
    assert.deepEqual(readWranglerDevTarget('wrangler.toml', 'name = "a#b"\n'), { name: 'a#b', port: WRANGLER_DEV_DEFAULT_PORT });
    assert.equal(readWranglerDevTarget('wrangler.json', '{"name":"w"}').port, 8787);
  });

  it('reads wrangler.jsonc with comments and trailing commas', () => {
    const jsonc = '{\n  // worker\n  "name": "edge", /* block */\n  "dev": { "port": 8899, },\n}\n';
    assert.deepEqual(readWranglerDevTarget('wrangler.jsonc', jsonc), { name: 'edge', port: 8899 });
  });

  it('ignores an invalid port', () => {
    assert.equal(readWranglerDevTarget('wrangler.json', '{"dev":{"port":"nope"}}').port, 8787);
    assert.equal(readWranglerDevTarget('wrangler.toml', '[dev]\nport = 70000\n').port, 8787);
  });
});

describe('stripJsonc', () => {
  it('keeps comment-like text and commas inside strings', () => {
    const jsonc = '{ "url": "http://x//y", "note": "a,}", /* c */ "list": [1, 2, ], // end\n }';
    assert.deepEqual(JSON.parse(stripJsonc(jsonc)), { url: 'http://x//y', note: 'a,}', list: [1, 2] });
  });

  it('keeps escaped quotes inside strings', () => {
    assert.deepEqual(JSON.parse(stripJsonc('{"a": "say \\"hi\\" // not a comment",}')), { a: 'say "hi" // not a comment' });
  });
});
