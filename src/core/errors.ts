// Typed store errors, so the UI can say exactly what went wrong and what to do about it.

export type KvErrorKind =
  | 'not-found'
  | 'invalid' // input breaks a rule; `rule` names it
  | 'too-large' // `limit` and `actual` say by how much
  | 'rate-limited' // `retryAfterMs` when the server said
  | 'unauthorized'
  | 'conflict' // e.g. Telnyx namespace not ready, name exists
  | 'unavailable' // network down, timeout, 5xx after retries
  | 'cancelled';

export interface KvErrorDetails {
  /** Which rule the input broke, e.g. 'key.maxBytes'. */
  rule?: string;
  limit?: number;
  actual?: number;
  retryAfterMs?: number;
  /** HTTP status from the provider, when there was a response. */
  status?: number;
  /** The provider's own error codes (Cloudflare numbers, Telnyx strings). */
  providerCodes?: (string | number)[];
  cause?: unknown;
}

export class KvError extends Error {
  override readonly name = 'KvError';
  readonly rule?: string;
  readonly limit?: number;
  readonly actual?: number;
  readonly retryAfterMs?: number;
  readonly status?: number;
  readonly providerCodes?: (string | number)[];

  constructor(readonly kind: KvErrorKind, message: string, details: KvErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.rule = details.rule;
    this.limit = details.limit;
    this.actual = details.actual;
    this.retryAfterMs = details.retryAfterMs;
    this.status = details.status;
    this.providerCodes = details.providerCodes;
  }
}

export function isKvError(error: unknown, kind?: KvErrorKind): error is KvError {
  return error instanceof KvError && (kind === undefined || error.kind === kind);
}

export function invalid(rule: string, message: string, details: Omit<KvErrorDetails, 'rule'> = {}): KvError {
  return new KvError('invalid', message, { ...details, rule });
}

export function tooLarge(rule: string, message: string, limit: number, actual: number): KvError {
  return new KvError('too-large', message, { rule, limit, actual });
}

export function notFound(message: string): KvError {
  return new KvError('not-found', message);
}

/** A message for people: the error's own message, or a readable fallback for foreign errors. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
