/** int8 post-training quantization: shared math, min-max calibration, integer reference forward. */
export {
  quantizeWeightsPerChannel,
  chooseActivationParams,
  quantizeBias,
  biasScale,
  roundHalfAway,
  roundHalfEven,
  TANH_OUTPUT,
  LOGISTIC_OUTPUT,
  INT8_MIN,
  INT8_MAX,
  type ActivationParams,
} from './int8.js';
export { quantizePolicy } from './calibrate.js';
export {
  forwardInt8,
  forwardInt8Traced,
  quantizeInput,
  dequantize,
  activationTable,
  runLayerInt8,
  quantizeMultiplier,
  multiplyByQuantizedMultiplier,
  argmaxAgreement,
  type RequantizationRule,
  type ForwardInt8Options,
  type Int8Trace,
} from './forward-int8.js';
export type { QuantizedLayer, QuantizedPolicy } from './types.js';
export { planInt8, type Int8Plan, type Int8LayerPlan } from './plan.js';
export * as int8Ops from './ops/index.js';
