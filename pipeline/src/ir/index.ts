/** Public entry of the IR: types, forward pass, builders, validation, policy.json. */
export * from './types.js';
export { forward, act, argmaxRow, paramCount, outDimOf, normalizeObs, denseForward, squashConstants } from './forward.js';
export { mlp, clonePolicy, seededRandom, denseLayer, type MlpOptions, type HeadSpec, type VecLike } from './build.js';
export { validatePolicy, policyProblems } from './validate.js';
export {
  policyToJSON,
  policyFromJSON,
  policyToText,
  readPolicyFile,
  writePolicyFile,
  floatsToBase64,
  base64ToFloats,
  POLICY_FORMAT,
  POLICY_VERSION,
  type PolicyJSON,
  type CodebookJSON,
} from './serialize.js';
export { codebookBits, codebookBytes, decodeCodebook, packIndices, unpackIndices } from './codebook.js';
