/**
 * `@edgedistill/runtime`: the device side. Sub-entries: `./envs`, `./errors`.
 * Policy loading (`loadPolicy`) imports no backend package until a policy needs it.
 */
export * from './errors.js';
export * from './envs/index.js';
export * from './policy/index.js';
