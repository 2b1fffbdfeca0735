/**
 * The package's entry (`@onewindow/adapter-amr-enterprise`): the factory as `adapter`, as every adapter
 * package exports it. The gateway compiles this adapter in (adapters/index.ts, kind `amr-enterprise`).
 */
export { amrEnterpriseAdapter as adapter, amrEnterpriseOptionsSchema, AMR_RESOURCE } from './adapter.js';
