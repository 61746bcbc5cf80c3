export { TelnyxStore, TELNYX_API_BASE_URL, telnyxError, type TelnyxStoreOptions } from './telnyxStore';
