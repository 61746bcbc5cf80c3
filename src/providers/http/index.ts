export { RestClient, RestResponse, DEFAULT_TIMEOUTS, isRetryableStatus, redactUrl } from './restClient';
export type { HttpMethod, RestClientOptions, RestRequest, RestTimeouts } from './restClient';
export { KeyWriteSpacer } from './writeSpacing';
export { Semaphore } from './semaphore';
export { buildMultipart } from './multipart';
export type { MultipartBody, MultipartPart } from './multipart';
export { isLoopbackHost, joinUrl, parseBaseUrl } from './url';
export type { Query } from './url';
