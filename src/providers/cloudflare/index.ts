export { CloudflareStore, CLOUDFLARE_API_BASE_URL } from './cloudflareStore';
export type {
  CloudflareAccount,
  CloudflareAuth,
  CloudflareConnectionOptions,
  CloudflareStoreOptions,
  CloudflareTarget,
  TokenVerification,
} from './cloudflareStore';
export { cloudflareError } from './errors';
