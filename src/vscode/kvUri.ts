// vscode.Uri for key documents; the encoding itself lives in src/core/kvPath.ts.
import * as vscode from 'vscode';
import { decodeKvAddress, encodeKvAddress, type DocumentKind, type KvAddress } from '../core/kvPath';

export const KV_SCHEME = 'kv';

export function kvUri(connectionId: string, namespaceId: string, key: string, kind: DocumentKind = 'value'): vscode.Uri {
  return vscode.Uri.from({ scheme: KV_SCHEME, ...encodeKvAddress({ connectionId, namespaceId, key, kind }) });
}

/** The key a kv: URI names, or undefined for any other URI. */
export function parseKvUri(uri: vscode.Uri): KvAddress | undefined {
  return uri.scheme === KV_SCHEME ? decodeKvAddress(uri) : undefined;
}
