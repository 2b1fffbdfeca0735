/**
 * The package's entry (`@onewindow/adapter-amr-enterprise`): the factory as `adapter`, as every adapter
 * package exports it. The gateway loads it at start when a department names the package (or its kind,
 * `amr-enterprise`, as older departments files do); gateway/departments/adapter-packages.ts.
 */
export { amrEnterpriseAdapter as adapter, amrEnterpriseOptionsSchema, AMR_RESOURCE } from './adapter.js';
