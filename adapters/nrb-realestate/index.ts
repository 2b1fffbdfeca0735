/**
 * The package's entry (`@onewindow/adapter-nrb-realestate`): the factory as `adapter`, as every adapter
 * package exports it. The gateway compiles this adapter in (adapters/index.ts, kind `nrb-realestate`).
 */
export { nrbRealEstateAdapter as adapter, nrbRealEstateOptionsSchema, NRB_RESOURCE } from './adapter.js';
