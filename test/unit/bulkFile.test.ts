// wrangler's bulk JSON format: every malformed case is reported (with its index and rule) before anything is
// written, and what the export writer produces parses back to the same bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  BulkFileWriter,
  decodeBase64,
  formatBulkProblem,
  parseBulkFile,
  serializeBulkFile,
  summarizeBulkProblems,
  toBulkFileItem,
  type BulkFileContents,
  type BulkFileRules,
} from '../../src/core/bulkFile';
import { CLOUDFLARE_LIMITS, LOCAL_LIMITS, TELNYX_LIMITS } from '../../src/core/limits';
import { toBytes } from '../../src/core/validation';

const NOW = 1_800_000_000;
const CF: BulkFileRules = { limits: CLOUDFLARE_LIMITS, now: NOW };

function parse(content: unknown, rules: BulkFileRules = CF): BulkFileContents {
  return parseBulkFile(typeof content === 'string' ? content : JSON.stringify(content), rules);
}

/** The rules broken, as `index:rule`, in report order. */
function broken(result: BulkFileContents): string[] {
  return result.problems.map((problem) => `${problem.index ?? '-'}:${problem.rule}`);
}

function onlyProblem(content: unknown, rules: BulkFileRules = CF): { rule: string; message: string; index?: number } {
  const result = parse(content, rules);
  assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
  assert.deepEqual(result.entries, [], 'nothing is importable while a problem remains');
  return result.problems[0];
}

describe('bulk file: reading', () => {
  it('reads text, base64, metadata and both kinds of expiration into bulkPut entries', () => {
    const result = parse([
      { key: 'a', value: 'hello' },
      { key: 'b', value: 'AAEC/w==', base64: true, metadata: { m: 1 } },
      { key: 'c', value: '', expiration: NOW + 3600 },
      { key: 'd', value: 'x', expiration_ttl: 120, metadata: null },
      { key: 'e', value: 'not base64 at all!', base64: false },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.total, 5);
    assert.deepEqual(result.entries, [
      { key: 'a', value: 'hello' },
      { key: 'b', value: new Uint8Array([0, 1, 2, 255]), metadata: { m: 1 } },
      { key: 'c', value: '', expiration: NOW + 3600 },
      { key: 'd', value: 'x', expirationTtl: 120, metadata: null },
      { key: 'e', value: 'not base64 at all!' },
    ]);
  });

  it('accepts an empty array and a UTF-8 byte order mark, from text or bytes', () => {
    assert.deepEqual(parse('[]'), { entries: [], problems: [], warnings: [], total: 0 });
    const withBom = '\ufeff[{"key":"k","value":"v"}]';
    assert.deepEqual(parseBulkFile(withBom, CF).entries, [{ key: 'k', value: 'v' }]);
    assert.deepEqual(parseBulkFile(new TextEncoder().encode(withBom), CF).entries, [{ key: 'k', value: 'v' }]);
  });

  it('refuses a file that is not UTF-8', () => {
    const problem = parseBulkFile(new Uint8Array([0x5b, 0xff, 0x5d]), CF).problems;
    assert.deepEqual(problem.map((p) => p.rule), ['file.encoding']);
  });

  it('refuses a file that is not JSON, saying where', () => {
    const problem = onlyProblem('[\n  {"key": "a", "value": "b"},\n  {"key": "c" "value": "d"}\n]');
    assert.equal(problem.rule, 'file.json');
    assert.equal(problem.index, undefined);
    assert.match(problem.message, /not valid JSON/);
    assert.match(problem.message, /line 3,? column 15/);
    assert.equal(onlyProblem('').rule, 'file.json');
  });

  it('refuses a file whose top level is not an array', () => {
    for (const [content, what] of [
      [{ key: 'a', value: 'b' }, 'an object'],
      ['"text"', 'a string'],
      ['null', 'null'],
      ['42', 'a number'],
    ] as const) {
      const problem = onlyProblem(typeof content === 'string' ? content : JSON.stringify(content));
      assert.equal(problem.rule, 'file.shape');
      assert.match(problem.message, new RegExp(`holds ${what}\\.`));
    }
  });

  it('refuses entries that are not objects', () => {
    const result = parse([null, 7, 'k', ['k', 'v'], true, { key: 'ok', value: 'v' }]);
    assert.deepEqual(broken(result), ['0:entry.shape', '1:entry.shape', '2:entry.shape', '3:entry.shape', '4:entry.shape']);
    assert.match(result.problems[3].message, /it is an array/);
    assert.equal(result.total, 6);
    assert.deepEqual(result.entries, []);
  });

  it('names each missing or mistyped field', () => {
    const result = parse([
      { value: 'v' },
      { key: 1, value: 'v' },
      { key: 'a' },
      { key: 'b', value: 12 },
      { key: 'c', value: { nested: true } },
      { key: 'd', value: 'v', base64: 'yes' },
      { key: 'e', value: 'v', expiration: '1900000000' },
      { key: 'f', value: 'v', expiration_ttl: null },
    ]);
    assert.deepEqual(broken(result), [
      '0:entry.key.missing',
      '1:entry.key.type',
      '2:entry.value.missing',
      '3:entry.value.type',
      '4:entry.value.type',
      '5:entry.base64.type',
      '6:entry.expiration.type',
      '7:entry.expiration_ttl.type',
    ]);
    assert.match(result.problems[1].message, /"key" must be a string; it is a number/);
    assert.match(result.problems[7].message, /"expiration_ttl" must be a number of seconds; it is null/);
    assert.equal(result.problems[3].key, 'b', 'the key is named where the entry has one');
  });

  it('reports every duplicate key with the index of its first entry', () => {
    const result = parse([
      { key: 'a', value: '1' },
      { key: 'b', value: '1' },
      { key: 'a', value: '2' },
      { key: 'a', value: '3' },
    ]);
    assert.deepEqual(broken(result), ['2:entry.key.duplicate', '3:entry.key.duplicate']);
    assert.match(result.problems[1].message, /entry #0/);
  });

  it('refuses values marked base64 that are not base64, saying why', () => {
    const result = parse([
      { key: 'url-safe', value: 'ab-_', base64: true },
      { key: 'space', value: 'QUJD RA==', base64: true },
      { key: 'padding-inside', value: 'QQ==QQ==', base64: true },
      { key: 'length', value: 'QUJDR', base64: true },
      { key: 'bad-padding', value: 'QUI=A', base64: true },
      { key: 'too-much-padding', value: 'QQ===', base64: true },
      { key: 'unpadded-ok', value: 'QUI', base64: true },
      { key: 'empty-ok', value: '', base64: true },
    ]);
    assert.deepEqual(broken(result), [0, 1, 2, 3, 4, 5].map((index) => `${index}:entry.value.base64`));
    assert.match(result.problems[0].message, /URL-safe alphabet/);
    assert.match(result.problems[1].message, /contains " "/);
    assert.match(result.problems[3].message, /length that is not possible/);
  });

  it('decodes standard base64 with or without padding', () => {
    assert.deepEqual(decodeBase64('QUI'), new Uint8Array([65, 66]));
    assert.deepEqual(decodeBase64('QUI='), new Uint8Array([65, 66]));
    assert.deepEqual(decodeBase64('+/8='), new Uint8Array([251, 255]));
    assert.equal(decodeBase64('Q'), undefined);
    assert.equal(decodeBase64('Q=B='), undefined);
  });

  it("applies the target's key rules", () => {
    const cloudflare = parse([
      { key: '', value: 'v' },
      { key: '.', value: 'v' },
      { key: '..', value: 'v' },
      { key: 'é'.repeat(257), value: 'v' },
      { key: 'ok: spaces and colons', value: 'v' },
    ]);
    assert.deepEqual(broken(cloudflare), ['0:key.empty', '1:key.forbidden', '2:key.forbidden', '3:key.maxBytes']);
    assert.match(cloudflare.problems[3].message, /514 bytes in UTF-8; Cloudflare allows at most 512/);

    const telnyx = parse(
      [
        { key: 'has:colon', value: 'v' },
        { key: '_reserved', value: 'v' },
        { key: 'x'.repeat(257), value: 'v' },
        { key: 'fine/key-1.json', value: 'v' },
      ],
      { limits: TELNYX_LIMITS, now: NOW, expiration: 'ttl-only' },
    );
    assert.deepEqual(broken(telnyx), ['0:key.pattern', '1:key.reserved', '2:key.maxChars']);
  });

  it('checks value sizes in bytes, after base64 decoding', () => {
    const limit = CLOUDFLARE_LIMITS.maxValueBytes;
    const result = parse([
      { key: 'text', value: 'é'.repeat(limit / 2 + 1) },
      { key: 'exact', value: 'x'.repeat(limit) },
      { key: 'binary', value: Buffer.alloc(limit + 1).toString('base64'), base64: true },
      { key: 'binary-exact', value: Buffer.alloc(limit).toString('base64'), base64: true },
    ]);
    assert.deepEqual(broken(result), ['0:value.maxBytes', '2:value.maxBytes']);
    assert.match(result.problems[1].message, /26214401 bytes/);
  });

  it('checks metadata: size, and whether the target keeps metadata at all', () => {
    const result = parse([
      { key: 'big', value: 'v', metadata: { text: 'x'.repeat(1020) } },
      { key: 'fits', value: 'v', metadata: { text: 'x'.repeat(1000) } },
      { key: 'string-metadata', value: 'v', metadata: 'just text' },
    ]);
    assert.deepEqual(broken(result), ['0:metadata.maxBytes']);
    const telnyx = parse([{ key: 'k', value: 'v', metadata: { a: 1 } }], { limits: TELNYX_LIMITS, now: NOW });
    assert.deepEqual(broken(telnyx), ['0:metadata.unsupported']);
  });

  it('refuses falsy metadata for a target that would drop it', () => {
    const rules: BulkFileRules = { ...CF, refuseFalsyMetadata: true };
    const result = parse(
      [
        { key: 'a', value: 'v', metadata: false },
        { key: 'b', value: 'v', metadata: 0 },
        { key: 'c', value: 'v', metadata: '' },
        { key: 'd', value: 'v', metadata: null },
        { key: 'e', value: 'v', metadata: { kept: true } },
      ],
      rules,
    );
    assert.deepEqual(broken(result), ['0:metadata.falsy', '1:metadata.falsy', '2:metadata.falsy', '3:metadata.falsy']);
  });

  it('checks expirations: at least 60 s ahead, whole seconds, and only where the target can set them', () => {
    const result = parse([
      { key: 'past', value: 'v', expiration: NOW - 10 },
      { key: 'soon', value: 'v', expiration: NOW + 59 },
      { key: 'ok', value: 'v', expiration: NOW + 60 },
      { key: 'short-ttl', value: 'v', expiration_ttl: 59 },
      { key: 'fraction', value: 'v', expiration_ttl: 90.5 },
      { key: 'fraction-abs', value: 'v', expiration: NOW + 90.5 },
    ]);
    assert.deepEqual(broken(result), ['0:expiration.absolute', '1:expiration.absolute', '3:expiration.ttl', '4:expiration.ttl', '5:expiration.absolute']);
    assert.match(result.problems[0].message, /in the past/);
    assert.match(result.problems[2].message, /needs at least 60/);
    assert.match(result.problems[3].message, /whole number of seconds/);

    const none = parse([{ key: 'a', value: 'v', expiration_ttl: 120 }, { key: 'b', value: 'v' }], { ...CF, expiration: 'none' });
    assert.deepEqual(broken(none), ['0:expiration.unsupported']);
  });

  it('turns absolute expirations into TTLs for a TTL-only target', () => {
    const result = parse([{ key: 'a', value: 'v', expiration: NOW + 500 }], { limits: TELNYX_LIMITS, now: NOW, expiration: 'ttl-only' });
    assert.deepEqual(result.entries, [{ key: 'a', value: 'v', expirationTtl: 500 }]);
  });

  it('warns, without refusing, about unknown properties and about both kinds of expiration', () => {
    const result = parse([
      { key: 'a', value: 'v', expiration_tll: 120, type: 'text' },
      { key: 'b', value: 'v', expiration: NOW + 100, expiration_ttl: 300 },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.warnings.map((w) => `${w.index}:${w.rule}`), ['0:entry.unknownProperty', '1:entry.expiration.both']);
    assert.match(result.warnings[0].message, /"expiration_tll", "type"/);
    assert.deepEqual(result.entries[1], { key: 'b', value: 'v', expirationTtl: 300 }, 'the TTL wins, as on Cloudflare');
  });

  it('reports every broken rule of every bad entry, not just the first', () => {
    const entries: unknown[] = [];
    for (let i = 0; i < 200; i++) entries.push({ key: `good-${i}`, value: `${i}` });
    entries[17] = { key: '', value: '%%%', base64: true };
    entries[150] = { key: 'x'.repeat(600), value: 'v', metadata: { big: 'y'.repeat(2000) }, expiration_ttl: 5 };
    entries[199] = 'oops';
    const result = parse(entries);
    assert.deepEqual(broken(result), [
      '17:key.empty',
      '17:entry.value.base64',
      '150:key.maxBytes',
      '150:metadata.maxBytes',
      '150:expiration.ttl',
      '199:entry.shape',
    ]);
    assert.equal(result.total, 200);
    assert.deepEqual(result.entries, []);
    const summary = summarizeBulkProblems(result.problems, result.total, 2);
    assert.match(summary, /^3 of 200 entries are invalid\./);
    assert.match(summary, /…and 4 more\.$/);
    assert.equal(formatBulkProblem(result.problems[0]), '#17 "": The key name is empty. [key.empty]');
  });
});

describe('bulk file: writing', () => {
  it('writes text as text and anything that is not UTF-8 as base64', () => {
    assert.deepEqual(toBulkFileItem('t', { value: toBytes('héllo ✓') }), { key: 't', value: 'héllo ✓' });
    assert.deepEqual(toBulkFileItem('b', { value: new Uint8Array([0xff, 0x00, 0x80]) }), { key: 'b', value: '/wCA', base64: true });
    assert.deepEqual(toBulkFileItem('e', { value: new Uint8Array(), expiration: NOW + 10, metadata: { a: [1] } }), {
      key: 'e',
      value: '',
      expiration: NOW + 10,
      metadata: { a: [1] },
    });
    // A byte order mark is part of the value: it must survive as text.
    assert.deepEqual(toBulkFileItem('bom', { value: new Uint8Array([0xef, 0xbb, 0xbf, 0x41]) }), { key: 'bom', value: '\ufeffA' });
    // Lone surrogate halves encoded as UTF-8 (CESU) are not UTF-8: base64.
    assert.equal(toBulkFileItem('cesu', { value: new Uint8Array([0xed, 0xa0, 0x80]) }).base64, true);
  });

  it('writes one entry per line with a fixed property order, and nothing for an empty export', () => {
    assert.equal(serializeBulkFile([]), '[\n]\n');
    const text = serializeBulkFile([
      { metadata: { m: 1 }, expiration: 5, base64: true, value: 'AA==', key: 'k' } as never,
      { key: 'x', value: 'y' },
    ]);
    assert.equal(text, '[\n{"key":"k","value":"AA==","base64":true,"expiration":5,"metadata":{"m":1}},\n{"key":"x","value":"y"}\n]\n');
    const writer = new BulkFileWriter();
    writer.item({ key: 'a', value: 'b' });
    assert.equal(writer.written, 1);
  });

  it('round-trips random bytes, text, metadata and expirations exactly', () => {
    const stored = new Map<string, { value: Uint8Array; expiration?: number; metadata?: unknown }>();
    for (let i = 0; i < 300; i++) {
      const value = i % 3 === 0 ? new Uint8Array(randomBytes(i % 50)) : toBytes(`value ${i} ✓ \u0000 "quoted" \\ ${'é'.repeat(i % 7)}`);
      stored.set(`k/${i}/${'ü'.repeat(i % 4)}`, {
        value,
        ...(i % 5 === 0 ? { expiration: NOW + 3600 + i } : {}),
        ...(i % 4 === 0 ? { metadata: { i, tags: ['a', i % 2 === 0], nested: { n: null } } } : {}),
      });
    }
    const file = serializeBulkFile([...stored].map(([key, entry]) => toBulkFileItem(key, entry)));
    const parsed = parseBulkFile(new TextEncoder().encode(file), { limits: LOCAL_LIMITS, now: NOW });
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.entries.length, stored.size);
    for (const entry of parsed.entries) {
      const original = stored.get(entry.key)!;
      assert.deepEqual(toBytes(entry.value), original.value, entry.key);
      assert.equal(entry.expiration, original.expiration);
      assert.deepEqual(entry.metadata, original.metadata);
    }
    // Writing what was read gives the very same file.
    const again = serializeBulkFile(parsed.entries.map((entry) => toBulkFileItem(entry.key, { ...entry, value: toBytes(entry.value) })));
    assert.equal(again, file);
  });
});
