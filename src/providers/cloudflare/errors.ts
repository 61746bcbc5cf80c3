// Cloudflare's error envelope → typed KvErrors whose message carries Cloudflare's own codes,
// e.g. "Cloudflare 10009: get: 'key not found' (HTTP 404)".

import { KvError, type KvErrorKind } from '../../core/errors';
import type { RestResponse } from '../http';

interface CloudflareMessage {
  code?: number | string;
  message?: string;
  error_chain?: CloudflareMessage[];
}

/** The envelope every JSON response shares (values are raw bytes and have none). */
export interface CloudflareEnvelope<T> {
  success?: boolean;
  errors?: CloudflareMessage[];
  messages?: unknown[];
  result: T;
  result_info?: {
    count?: number;
    cursor?: string;
    page?: number;
    per_page?: number;
    total_count?: number;
    total_pages?: number;
  };
}

export const CODE_KEY_NOT_FOUND = 10009;
export const CODE_NAMESPACE_NOT_FOUND = 10013;
const CODE_NAMESPACE_TITLE_EXISTS = 10014;
const RATE_LIMIT_CODES = new Set([10022, 10046, 971]);

/** Every code in the body, chained ones included; [] when the body is not Cloudflare's envelope. */
export function errorCodes(response: RestResponse): { codes: number[]; messages: string[] } {
  const codes: number[] = [];
  const messages: string[] = [];
  let envelope: CloudflareEnvelope<unknown> | undefined;
  try {
    envelope = JSON.parse(response.text()) as CloudflareEnvelope<unknown>;
  } catch {
    return { codes, messages };
  }
  const visit = (items: CloudflareMessage[] | undefined): void => {
    if (!Array.isArray(items)) return;
    for (const item of items) {
      const code = Number(item?.code);
      if (Number.isFinite(code)) codes.push(code);
      messages.push(`${Number.isFinite(code) ? `${code}: ` : ''}${item?.message ?? 'error'}`);
      visit(item?.error_chain);
    }
  };
  visit(envelope?.errors);
  return { codes, messages };
}

function kindFor(status: number, codes: number[]): KvErrorKind {
  if (codes.includes(CODE_NAMESPACE_TITLE_EXISTS)) return 'conflict';
  if (codes.includes(CODE_KEY_NOT_FOUND) || codes.includes(CODE_NAMESPACE_NOT_FOUND)) return 'not-found';
  if (codes.some((code) => RATE_LIMIT_CODES.has(code))) return 'rate-limited';
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 409) return 'conflict';
  if (status === 413 || status === 414) return 'too-large';
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'unavailable';
  if (status >= 400) return 'invalid';
  return 'unavailable'; // a 1xx/3xx, or a 2xx whose envelope says success: false
}

/**
 * Maps a failed response to a KvError. `provider` names the service ('Cloudflare', 'wrangler dev') and
 * `operation` says what was being done, for bodies that carry no codes.
 */
export function cloudflareError(provider: string, operation: string, response: RestResponse): KvError {
  const { codes, messages } = errorCodes(response);
  const kind = kindFor(response.status, codes);
  let message: string;
  if (messages.length > 0) {
    message = `${provider} ${messages.join('; ')} (HTTP ${response.status})`;
  } else {
    const sample = response.text().slice(0, 200).replace(/\s+/g, ' ').trim();
    message = `${provider} could not ${operation}: HTTP ${response.status}${sample ? ` ${JSON.stringify(sample)}` : ''}`;
  }
  if (kind === 'rate-limited' && response.retryAfterMs !== undefined) {
    message += `; try again in ${Math.ceil(response.retryAfterMs / 1000)} s`;
  }
  if (kind === 'unauthorized') message += '. Check the API token (or email and global key) and its permissions.';
  return new KvError(kind, message, { status: response.status, providerCodes: codes, retryAfterMs: response.retryAfterMs });
}
