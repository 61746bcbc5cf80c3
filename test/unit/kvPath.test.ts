import * as assert from 'node:assert/strict';
import { decodeKvAddress, encodeKvAddress, HEX_SUFFIX, METADATA_SUFFIX, type KvAddress } from '../../src/core/kvPath';
import { generatedKeys } from '../support/generatedKeys';

describe('kv document addresses', () => {
  it('round-trip 10,000 generated keys exactly, for values and metadata', () => {
    for (const key of generatedKeys(10_000)) {
      for (const kind of ['value', 'metadata', 'hex'] as const) {
        const address: KvAddress = { connectionId: 'local', namespaceId: 'ns/1?#', key, kind };
        const parts = encodeKvAddress(address);
        assert.deepEqual(decodeKvAddress(parts), address, `key ${JSON.stringify(key)}`);
      }
    }
  });

  it('show the last segment as typed, so the tab label and language follow the key', () => {
    assert.match(encodeKvAddress({ connectionId: 'local', namespaceId: 'n', key: 'config/app.json', kind: 'value' }).path, /\/app\.json$/);
    assert.ok(encodeKvAddress({ connectionId: 'local', namespaceId: 'n', key: 'a', kind: 'metadata' }).path.endsWith(`/a${METADATA_SUFFIX}`));
    assert.ok(encodeKvAddress({ connectionId: 'local', namespaceId: 'n', key: 'img/logo.png', kind: 'hex' }).path.endsWith(`/logo.png${HEX_SUFFIX}`));
  });

  it('never shows an empty, "." or ".." segment, which VS Code could normalise away', () => {
    const { path } = encodeKvAddress({ connectionId: 'local', namespaceId: 'n', key: '/../a//./', kind: 'value' });
    assert.ok(!path.split('/').slice(1).some((segment) => segment === '' || segment === '.' || segment === '..'), path);
  });

  it('refuses a query that is not one of ours', () => {
    assert.equal(decodeKvAddress({ query: 'k=only-a-key' }), undefined);
  });
});
