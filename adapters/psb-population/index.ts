/**
 * The package's entry (`@onewindow/adapter-psb-population`): the factory as `adapter`, as every adapter
 * package exports it. The gateway loads it at start when a department names the package (or its kind,
 * `psb-population`, as older departments files do); gateway/departments/adapter-packages.ts.
 */
export { psbPopulationAdapter as adapter, psbPopulationOptionsSchema, PSB_RESOURCE } from './adapter.js';
