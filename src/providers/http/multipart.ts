// multipart/form-data bodies built in memory, so a retried request can send exactly the same bytes again.

import { randomBytes } from 'node:crypto';

export interface MultipartPart {
  name: string;
  value: Uint8Array | string;
  contentType?: string;
  /** Sent as the part's filename; some servers only treat a part as binary when it has one. */
  filename?: string;
}

export interface MultipartBody {
  body: Buffer;
  contentType: string;
}

function quoted(text: string): string {
  return `"${text.replace(/[\r\n"\\]/g, (ch) => encodeURIComponent(ch))}"`;
}

function newBoundary(): string {
  return `----kv-explorer-${randomBytes(12).toString('hex')}`;
}

function bytesOf(value: Uint8Array | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function buildMultipart(parts: MultipartPart[], boundary = newBoundary()): MultipartBody {
  // A boundary must not occur inside any part; with 96 random bits this loop almost never turns twice.
  while (parts.some((part) => bytesOf(part.value).includes(boundary))) boundary = newBoundary();
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(part.name)}`;
    if (part.filename !== undefined) head += `; filename=${quoted(part.filename)}`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'));
    chunks.push(bytesOf(part.value));
    chunks.push(Buffer.from('\r\n', 'utf8'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
