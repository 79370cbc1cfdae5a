/**
 * fp16 storage: every weight and bias rounded to the nearest IEEE binary16 (round half to even, the
 * same conversion as the fp16 TFLite exporter), kept in float32 so the float forward pass shows
 * exactly what fp16 weights compute with float32 arithmetic (TFLite's fp16 weights are dequantized to
 * float32 at load time).
 */
import { fromFloat16Bits, toFloat16Bits } from '../export/tflite/float16.js';
import type { DenseLayer, PolicyModel } from '../ir/types.js';

export function roundToFloat16(v: number): number {
  return fromFloat16Bits(toFloat16Bits(v));
}

export function roundModelToFloat16(model: PolicyModel): { model: PolicyModel; maxAbsChange: number; overflow: number } {
  let maxAbsChange = 0;
  let overflow = 0;
  const r = (a: Float32Array) =>
    a.map((v) => {
      const h = roundToFloat16(v);
      if (!Number.isFinite(h)) overflow++;
      maxAbsChange = Math.max(maxAbsChange, Math.abs(h - v));
      return h;
    });
  const layers = model.layers.map((l): DenseLayer => {
    const base = { inDim: l.inDim, outDim: l.outDim, activation: l.activation, bias: r(l.bias) };
    if (!l.codebook) return { ...base, weight: r(l.weight) };
    // Shared weights stay shared: the centroids are rounded.
    const centroids = r(l.codebook.centroids);
    const weight = Float32Array.from(l.codebook.indices, (i) => centroids[i]);
    return { ...base, weight, codebook: { centroids, indices: l.codebook.indices.slice() } };
  });
  return { model: { ...model, layers }, maxAbsChange, overflow };
}
