/**
 * Post-training int8 quantization by min-max calibration: run the float model over calibration
 * observations, record each tensor's range, and derive int8 parameters from it.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { denseForward, normalizeObs } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';
import { validatePolicy } from '../ir/validate.js';
import {
  LOGISTIC_OUTPUT,
  TANH_OUTPUT,
  chooseActivationParams,
  quantizeBias,
  quantizeWeightsPerChannel,
  type ActivationParams,
} from './int8.js';
import type { QuantizedLayer, QuantizedPolicy } from './types.js';

function range(a: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function applyActivation(a: 'relu' | 'tanh' | 'sigmoid' | 'none', x: Float32Array): Float32Array {
  if (a === 'none') return x;
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = a === 'relu' ? (v > 0 ? v : 0) : a === 'tanh' ? Math.tanh(v) : 1 / (1 + Math.exp(-v));
  }
  return y;
}

/**
 * Quantize `model` to int8 with ranges calibrated on `calibration` (row-major
 * [samples][obsDim] raw observations, as the policy receives them).
 */
export function quantizePolicy(model: PolicyModel, calibration: Float32Array): QuantizedPolicy {
  validatePolicy(model);
  const d = model.obsDim;
  if (!(calibration instanceof Float32Array) || calibration.length === 0 || calibration.length % d !== 0) {
    throw new EdgeDistillError(
      'BAD_ARGUMENT',
      `calibration must be a non-empty Float32Array of samples x ${d} observation values, got ${calibration?.length ?? 'none'}`,
      { field: 'calibration' },
    );
  }
  const bad = calibration.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new EdgeDistillError(
      'BAD_OBSERVATION',
      `calibration observation ${Math.floor(bad / d)} has ${calibration[bad]} at index ${bad % d}`,
      { field: 'calibration' },
    );
  }
  const n = calibration.length / d;
  let x = model.obsNorm ? normalizeObs(model.obsNorm, calibration, n, d) : calibration;
  const input = chooseActivationParams(...range(x));

  let inParams: ActivationParams = input;
  const layers: QuantizedLayer[] = [];
  model.layers.forEach((layer, i) => {
    const pre = denseForward({ ...layer, activation: 'none' }, x, n);
    const post = applyActivation(layer.activation, pre);
    let [lo, hi] = range(layer.activation === 'relu' ? post : pre);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new EdgeDistillError('BAD_MODEL', `layer ${i} produces non-finite values on the calibration set`, {
        field: `layers.${i}`,
      });
    }
    if (layer.activation === 'relu') lo = Math.max(lo, 0);
    const output = chooseActivationParams(lo, hi);
    const w = quantizeWeightsPerChannel(layer.weight, layer.outDim, layer.inDim);
    const b = quantizeBias(layer.bias, inParams.scale, w.scales);
    const activationOutput =
      layer.activation === 'tanh' ? TANH_OUTPUT : layer.activation === 'sigmoid' ? LOGISTIC_OUTPUT : null;
    layers.push({
      inDim: layer.inDim,
      outDim: layer.outDim,
      activation: layer.activation,
      weight: w.q,
      weightScales: w.scales,
      bias: b.q,
      biasScales: b.scales,
      input: inParams,
      output,
      activationOutput,
    });
    inParams = activationOutput ?? output;
    x = post;
  });
  return { model, input, layers, calibrationSamples: n };
}
