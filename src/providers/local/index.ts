export { LocalStore, LOCAL_DATA_FILE, type LocalStoreOptions } from './localStore';
