// On-disk encodings of the local store. Keys are raw UTF-8 so LMDB's memcmp order is the UTF-8 byte order
// that Cloudflare lists in; per-key records are a few bytes so a listing never touches value bytes.

import { invalid } from '../../core/errors';

/** Namespace ids are 32 lowercase hex characters (as Cloudflare's), so every stored key starts with exactly 32 bytes. */
export const NAMESPACE_ID_LENGTH = 32;
const NAMESPACE_ID_PATTERN = /^[0-9a-f]{32}$/;

export function isNamespaceId(id: string): boolean {
  return NAMESPACE_ID_PATTERN.test(id);
}

type KeyTarget = Uint8Array & { utf8Write?: (text: string, offset: number) => number };
const utf8 = new TextEncoder();

/**
 * lmdb key encoder for `namespaceId + keyName` strings: plain UTF-8, no type tag and no terminator, so
 * the database's byte order is the key's UTF-8 byte order and a prefix of a key is a prefix of its bytes.
 */
export const utf8KeyEncoder = {
  writeKey(key: string, target: KeyTarget, start: number): number {
    const written = target.utf8Write
      ? target.utf8Write(key, start)
      : utf8.encodeInto(key, target.subarray(start)).written;
    // A full buffer truncates silently; lmdb retries with a fresh buffer on RangeError.
    if (start + written > target.length - 4) throw new RangeError('Key does not fit in the key buffer');
    return start + written;
  },
  readKey(source: Uint8Array, start: number, end: number): string {
    return Buffer.prototype.toString.call(source, 'utf8', start, end);
  },
};

// Record layout: [flags][expiration as float64 BE if flags&1][metadata JSON as UTF-8 if flags&2].
const HAS_EXPIRATION = 1;
const HAS_METADATA = 2;

/** A decoded per-key record. Plain keys (no expiration, no metadata) all share one frozen object. */
export interface KeyRecord {
  readonly expiration?: number;
  readonly metadataJson?: string;
}

const PLAIN_RECORD_BYTES = Buffer.from([0]);
const PLAIN_RECORD: KeyRecord = Object.freeze({});
const doubleBytes = new Uint8Array(8);
const doubleView = new DataView(doubleBytes.buffer);
const utf8Decoder = new TextDecoder();

export function encodeRecord(expiration: number | undefined, metadataJson: string | undefined): Buffer {
  if (expiration === undefined && metadataJson === undefined) return PLAIN_RECORD_BYTES;
  const metadataBytes = metadataJson === undefined ? 0 : Buffer.byteLength(metadataJson, 'utf8');
  const record = Buffer.allocUnsafe(1 + (expiration === undefined ? 0 : 8) + metadataBytes);
  let offset = 1;
  let flags = 0;
  if (expiration !== undefined) {
    flags |= HAS_EXPIRATION;
    record.writeDoubleBE(expiration, offset);
    offset += 8;
  }
  if (metadataJson !== undefined) {
    flags |= HAS_METADATA;
    record.write(metadataJson, offset, 'utf8');
  }
  record[0] = flags;
  return record;
}

/** `size` is given when lmdb hands over its shared read buffer, whose length is not the record's. */
export function decodeRecord(bytes: Uint8Array, size?: unknown): KeyRecord {
  const flags = bytes[0];
  if (flags === 0) return PLAIN_RECORD;
  const end = typeof size === 'number' ? size : bytes.length;
  let offset = 1;
  let expiration: number | undefined;
  if (flags & HAS_EXPIRATION) {
    for (let i = 0; i < 8; i++) doubleBytes[i] = bytes[1 + i];
    expiration = doubleView.getFloat64(0);
    offset = 9;
  }
  if ((flags & HAS_METADATA) === 0) return { expiration };
  return { expiration, metadataJson: utf8Decoder.decode(bytes.subarray(offset, end)) };
}

/**
 * lmdb value encoder for the record table: records are read straight out of lmdb's shared buffer (no per-key Buffer copy, which is most of a listing's cost).
 */
export const recordEncoder = {
  encode: (record: KeyRecord): Buffer => encodeRecord(record.expiration, record.metadataJson),
  decode: decodeRecord,
};

/**
 * A stored entry: [record length as u16 BE][record][value bytes]. The record is repeated in front of the
 * value so `get` is a single lookup; the separate record table is what listings read.
 */
export function encodeEntry(record: Uint8Array, value: Uint8Array): Buffer {
  const entry = Buffer.allocUnsafe(2 + record.length + value.byteLength);
  entry.writeUInt16BE(record.length, 0);
  entry.set(record, 2);
  entry.set(value, 2 + record.length);
  return entry;
}

/** The record and the value bytes (a view, not a copy) of a stored entry. */
export function splitEntry(entry: Buffer): { record: Buffer; value: Uint8Array } {
  const recordEnd = 2 + entry.readUInt16BE(0);
  return {
    record: entry.subarray(2, recordEnd),
    value: new Uint8Array(entry.buffer, entry.byteOffset + recordEnd, entry.length - recordEnd),
  };
}

/** Expiry index key: expiration as float64 BE (byte order = time order for positive numbers), then the stored key. */
export function expiryIndexKey(expiration: number, storedKey: string): Buffer {
  const keyBytes = Buffer.byteLength(storedKey, 'utf8');
  const indexKey = Buffer.allocUnsafe(8 + keyBytes);
  indexKey.writeDoubleBE(expiration, 0);
  indexKey.write(storedKey, 8, 'utf8');
  return indexKey;
}

export function expiryIndexBound(expiration: number): Buffer {
  const bound = Buffer.allocUnsafe(8);
  bound.writeDoubleBE(expiration, 0);
  return bound;
}

export function parseExpiryIndexKey(indexKey: Uint8Array): { expiration: number; storedKey: string } {
  const buffer = Buffer.from(indexKey.buffer, indexKey.byteOffset, indexKey.byteLength);
  return { expiration: buffer.readDoubleBE(0), storedKey: buffer.toString('utf8', 8) };
}

/**
 * Cursors hold the key name to resume from, as base64url UTF-8, behind a one-letter tag:
 * 'a' = strictly after this key; 'f' = at or after this position (used after a folder was skipped).
 * Naming a position, not an offset, keeps a cursor valid while other writers add or remove keys.
 */
export type CursorPosition = { after: string } | { from: string };

export function encodeCursor(position: CursorPosition): string {
  return 'after' in position
    ? 'a' + Buffer.from(position.after, 'utf8').toString('base64url')
    : 'f' + Buffer.from(position.from, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  const tag = cursor[0];
  const body = cursor.slice(1);
  if ((tag !== 'a' && tag !== 'f') || !/^[A-Za-z0-9_-]*$/.test(body)) {
    throw invalid('list.cursor', 'The cursor is not one this local store issued.');
  }
  const name = Buffer.from(body, 'base64url').toString('utf8');
  return tag === 'a' ? { after: name } : { from: name };
}

/** The first stored name a cursor position allows: the byte after `after` is `after + '\0'`. */
export function cursorStart(position: CursorPosition): string {
  return 'after' in position ? position.after + '\u0000' : position.from;
}

/** Compares two strings by their UTF-8 bytes (JS `<` compares UTF-16 units, which orders some characters differently). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
