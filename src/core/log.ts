// One log sink for the whole extension. Secrets never reach it: every line passes through `redact`.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { log: () => undefined };

const HEADER_PATTERN = /((?:authorization|x-auth-key|x-auth-email|cookie)\s*[:=]\s*)("?)[^"\r\n,}]+/gi;
const BEARER_PATTERN = /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

/**
 * Removes credentials from a log line: known secret values wherever they appear, then anything
 * that looks like an Authorization-style header or a bearer token.
 */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  }
  return out.replace(BEARER_PATTERN, '$1[REDACTED]').replace(HEADER_PATTERN, '$1$2[REDACTED]');
}

/** Wraps a logger so every line is redacted against the secrets known at the time it is written. */
export function redactingLogger(inner: Logger, secrets: () => Iterable<string>): Logger {
  return { log: (level, message) => inner.log(level, redact(message, secrets())) };
}
