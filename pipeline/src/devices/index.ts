/** Device profiles: types, schema validation, lookup by id. */
export type { DeviceProfile, DeviceArch, DeployDefaults, DeviceSource } from './profile.js';
export { nodeArchOf, unameOf } from './profile.js';
export { validateProfile, profileProblems, devicesDir, fieldPath } from './validate.js';
export { loadProfile, loadAllProfiles, listProfileIds, readProfileFile } from './load.js';
