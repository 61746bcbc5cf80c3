// Run with Node ≥ 22 (node:sqlite): inserts bench keys 1..total-1 into a Miniflare KV namespace table whose key 0
// was written through the binding, all sharing key 0's value file. See seedMiniflare in ./miniflare.ts.
//   node miniflareSeeder.js <table.sqlite> <total>

import { benchKey } from '../dataset';

interface Statement {
  get(...values: unknown[]): Record<string, unknown> | undefined;
  run(...values: unknown[]): unknown;
}
interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  close(): void;
}

function main(): void {
  const [file, totalText] = process.argv.slice(2);
  const total = Number(totalText);
  if (!file || !Number.isInteger(total) || total < 1) throw new Error('usage: miniflareSeeder.js <table.sqlite> <total>');
  // Required at run time: node:sqlite exists only from Node 22 on, and the bench itself runs on Node 20.
  const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string) => Database };
  const db = new DatabaseSync(file);
  const first = db.prepare('SELECT blob_id FROM _mf_entries WHERE key = ?').get(benchKey(0));
  if (!first) throw new Error(`${file} has no row for ${benchKey(0)}; write it through the binding first.`);
  const insert = db.prepare('INSERT OR REPLACE INTO _mf_entries (key, blob_id, expiration, metadata) VALUES (?, ?, NULL, NULL)');
  db.exec('BEGIN');
  for (let index = 1; index < total; index++) insert.run(benchKey(index), first.blob_id);
  db.exec('COMMIT');
  const count = db.prepare('SELECT count(*) AS n FROM _mf_entries').get();
  db.close();
  if (Number(count?.n) !== total) throw new Error(`${file} holds ${String(count?.n)} keys after seeding, not ${total}.`);
}

main();
