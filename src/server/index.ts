// The Cloudflare- and Telnyx-dialect servers: test fixtures for the providers, and a way for wrangler, curl or
// scripts to use a local store (src/server/main.ts).
export { startCloudflareServer, DEFAULT_ACCOUNT_ID, type CloudflareServer, type CloudflareServerOptions } from './cloudflare';
export { startTelnyxServer, uuidForStoreId, TELNYX_CODES, type TelnyxServer, type TelnyxServerOptions } from './telnyx';
export { LOOPBACK, RequestLog, type RequestLogEntry, type RunningServer } from './http';
export type { FaultKind, FaultOptions } from './faults';
