/**
 * The package's entry (`@onewindow/adapter-psb-population`): the factory as `adapter`, as every adapter
 * package exports it. The gateway compiles this adapter in (adapters/index.ts, kind `psb-population`).
 */
export { psbPopulationAdapter as adapter, psbPopulationOptionsSchema, PSB_RESOURCE } from './adapter.js';
