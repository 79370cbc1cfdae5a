/**
 * int8 ops, one per file, pure: the single definition of what every int8 artifact computes.
 * forwardInt8 calls them; the ONNX, JS and C exporters emit code or graphs doing exactly this.
 */
export { roundHalfEven, roundHalfEvenMagic, ROUND_MAGIC } from './round-half-even.js';
export { roundHalfAway } from './round-half-away.js';
export { clamp, INT8_MIN, INT8_MAX } from './clamp.js';
export { quantize, inverseScale } from './quantize.js';
export { dequantize } from './dequantize.js';
export { requantize, requantMultiplier } from './requantize.js';
export { accumulate, biasWithZeroPoint } from './accumulate.js';
export { lookupTable, tableFunction, type QuantParams } from './lookup-table.js';
