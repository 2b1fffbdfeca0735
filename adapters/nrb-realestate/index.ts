/**
 * The package's entry (`@onewindow/adapter-nrb-realestate`): the factory as `adapter`, as every adapter
 * package exports it. The gateway loads it at start when a department names the package (or its kind,
 * `nrb-realestate`, as older departments files do); gateway/departments/adapter-packages.ts.
 */
export { nrbRealEstateAdapter as adapter, nrbRealEstateOptionsSchema, NRB_RESOURCE } from './adapter.js';
