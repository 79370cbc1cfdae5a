/**
 * Compiled JS policies: one standalone ES module (`.mjs`, no imports) per policy, following
 * runtime/src/policy/compiled-module.ts. `js` is the fp32 model (bit-identical to the IR forward
 * pass); `js-int8` the quantized one (bit-identical to the int8 ONNX / TFLite artifacts).
 */
export { emitFp32Module } from './emit-fp32.js';
export { emitInt8Module, type CompileJsOptions } from './emit-int8.js';
export { compiledMetadata, type SpaceOverrides } from './metadata.js';
export { importModuleFile, benchAct, type ActLatency } from './load.js';
