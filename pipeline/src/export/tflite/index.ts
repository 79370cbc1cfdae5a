/** TFLite exporter: PolicyModel -> .tflite (fp32 / int8 / fp16) via our own flatbuffer tables. */
export {
  writeTflite,
  writeTfliteFile,
  writeTfliteQuantized,
  tfliteMetadata,
  TFLITE_METADATA_NAME,
  type WriteTfliteOptions,
  type TfliteVariant,
} from './write.js';
export { lowerFloat, lowerInt8, type LowerOptions } from './lower.js';
export { serializeGraph } from './serialize.js';
export { GraphBuilder, type GraphSpec, type TensorSpec, type OpSpec, type QuantSpec } from './graph.js';
export { toFloat16Bits, fromFloat16Bits, toFloat16Array } from './float16.js';
export * as tfliteSchema from './schema.js';
