/**
 * The package's entry: the gateway imports it when a department names
 * `"adapterPackage": "@onewindow/adapter-mca-marriage"` and takes the factory from `adapter`.
 */
export { mcaMarriageAdapter as adapter, mcaMarriageOptionsSchema, MCA_RESOURCE } from './adapter.js';
export { MARRIAGE_CERTIFICATE } from './mapping.js';
