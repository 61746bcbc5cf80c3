// Transport rules for base URLs: remote services only over https; plain http only to this machine.

import { invalid } from '../../core/errors';

/** 127.0.0.0/8, ::1 and `localhost`: traffic to these never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255);
}

/**
 * Parses a base URL and enforces the transport rule, before any request can be made.
 * Throws an 'invalid' KvError naming the rule otherwise.
 */
export function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw invalid('url.syntax', `The base URL ${JSON.stringify(baseUrl)} is not a valid URL.`);
  }
  if (url.username || url.password) {
    throw invalid('url.credentials', 'The base URL must not carry a user name or password; credentials go in the connection settings.');
  }
  if (url.search || url.hash) throw invalid('url.query', `The base URL ${url.origin}${url.pathname} must not have a query or fragment.`);
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return url;
    throw invalid(
      'url.insecure',
      `The base URL ${url.origin} uses plain http to another machine; use https:// (plain http is allowed only for 127.0.0.1, ::1 and localhost).`,
    );
  }
  throw invalid('url.protocol', `The base URL must start with https:// (or http:// for this machine); got ${url.protocol}//.`);
}

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** `base` path + `path` (already percent-encoded) + query string. */
export function joinUrl(base: URL, path: string, query?: Query): URL {
  const url = new URL(base.href);
  url.pathname = base.pathname.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
  if (query) {
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
  }
  return url;
}
