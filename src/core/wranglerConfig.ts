// Reads what the extension needs from a wrangler config (wrangler.toml / wrangler.json / wrangler.jsonc):
// the worker's name and the port `wrangler dev` listens on. Deliberately not a full TOML parser.

/** wrangler dev's default port when the config sets none. */
export const WRANGLER_DEV_DEFAULT_PORT = 8787;

/** Where `wrangler dev` (Miniflare's local explorer) serves the Cloudflare-dialect KV API. */
export const WRANGLER_EXPLORER_API_PATH = '/cdn-cgi/explorer/api';

export const WRANGLER_CONFIG_FILE_NAMES = ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'] as const;

export interface WranglerDevTarget {
  /** The worker's `name`, when the config has one. */
  name?: string;
  port: number;
}

function validPort(value: unknown): number | undefined {
  const port = typeof value === 'string' ? Number(value) : value;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** Everything from an unquoted `#` to the end of the line. */
function stripTomlComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#') {
      return line.slice(0, i);
    }
  }
  return line;
}

function tomlString(value: string): string | undefined {
  const match = /^"((?:[^"\\]|\\.)*)"$|^'([^']*)'$/.exec(value.trim());
  if (!match) return undefined;
  return match[2] ?? match[1].replace(/\\(.)/g, '$1');
}

/** Top-level `name`, and `port` from `[dev]`, `dev.port = …` or `dev = { port = … }`. */
function readToml(text: string): WranglerDevTarget {
  let table = '';
  let name: string | undefined;
  let port: number | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = stripTomlComment(raw).trim();
    if (!line) continue;
    if (line.startsWith('[')) {
      // `[[array.of.tables]]` entries never hold the top-level dev settings.
      const header = /^\[\s*([^\][]+?)\s*\]$/.exec(line);
      table = header ? header[1].replace(/\s+/g, '').replace(/["']/g, '') : '[[]]';
      continue;
    }
    const pair = /^([A-Za-z0-9_.\-"' ]+?)\s*=\s*(.+)$/.exec(line);
    if (!pair) continue;
    const key = pair[1].replace(/\s+/g, '').replace(/["']/g, '');
    const path = table ? `${table}.${key}` : key;
    const value = pair[2].trim();
    if (path === 'name') name = tomlString(value) ?? name;
    else if (path === 'dev.port') port = validPort(value) ?? port;
    else if (path === 'dev') port = validPort(/\bport\s*=\s*(\d+)/.exec(value)?.[1]) ?? port;
  }
  return { name, port: port ?? WRANGLER_DEV_DEFAULT_PORT };
}

/** Length of the JSON string literal starting at `text[start]` (a '"'), including both quotes. */
function stringLength(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1 - start;
}

/** JSONC (wrangler.jsonc) to JSON: drops comments, then trailing commas; string contents stay untouched. */
export function stripJsonc(text: string): string {
  let withoutComments = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      const length = stringLength(text, i);
      withoutComments += text.slice(i, i + length);
      i += length - 1;
    } else if (text.startsWith('//', i)) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
      withoutComments += ' ';
    } else {
      withoutComments += text[i];
    }
  }
  let out = '';
  for (let i = 0; i < withoutComments.length; i++) {
    const ch = withoutComments[i];
    if (ch === '"') {
      const length = stringLength(withoutComments, i);
      out += withoutComments.slice(i, i + length);
      i += length - 1;
    } else if (ch !== ',' || !/^\s*[}\]]/.test(withoutComments.slice(i + 1))) {
      out += ch;
    }
  }
  return out;
}

function readJson(text: string): WranglerDevTarget {
  let config: unknown;
  try {
    config = JSON.parse(stripJsonc(text));
  } catch {
    config = undefined; // a config wrangler itself would reject: fall back to the defaults
  }
  const record = typeof config === 'object' && config !== null ? (config as Record<string, unknown>) : {};
  const dev = typeof record.dev === 'object' && record.dev !== null ? (record.dev as Record<string, unknown>) : {};
  return {
    name: typeof record.name === 'string' ? record.name : undefined,
    port: validPort(dev.port) ?? WRANGLER_DEV_DEFAULT_PORT,
  };
}

/** The worker name and dev port of a wrangler config file; `fileName` decides the syntax. */
export function readWranglerDevTarget(fileName: string, text: string): WranglerDevTarget {
  return /\.toml$/i.test(fileName) ? readToml(text) : readJson(text);
}
