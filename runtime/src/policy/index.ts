/** Policy loading: `loadPolicy` and its types, the backend registry, the compiled module contract. */
export { loadPolicy } from './load.js';
export type {
  ActionSpaceSpec,
  ArtifactFormat,
  ArtifactVariant,
  BackendName,
  LoadPolicyOptions,
  Observation,
  ObservationBatch,
  PlatformInfo,
  Policy,
  PolicyAction,
  PolicyArtifactInfo,
  PolicyHeadInfo,
  PolicyMetadata,
  SyncPolicy,
} from './types.js';
export { registerBackend, builtinBackendLoader, BACKEND_NAMES } from './backend.js';
export type { Backend, BackendLoader, BackendSession, ModelArtifact, OpenOptions, SessionBinding, ArtifactFacts } from './backend.js';
export { chooseBackends, detectFormat, ORT_NODE_PLATFORMS } from './choose.js';
export {
  COMPILED_FORMAT,
  checkStandaloneSource,
  validateCompiledModule,
  type CompiledModuleMetadata,
  type CompiledPolicyModule,
} from './compiled-module.js';
export { METADATA_KEYS, METADATA_KEY_PREFIX, TFLITE_METADATA_NAME, sidecarPath } from './metadata.js';
export { readOnnxModelInfo, type OnnxModelInfo, type OnnxValueInfo } from './onnx-metadata.js';
