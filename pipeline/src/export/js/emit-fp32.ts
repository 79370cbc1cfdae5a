/**
 * PolicyModel -> standalone fp32 ES module computing exactly what the IR's forward pass computes
 * (ir/forward.ts: every op rounded to float32, dot products summed in double in index order and
 * rounded once), so its outputs are bit-identical to the IR's. Weights are base64 float32.
 */
import { squashConstants } from '../../ir/forward.js';
import type { Activation, DenseLayer, PolicyModel } from '../../ir/types.js';
import { validatePolicy } from '../../ir/validate.js';
import { DECODERS, base64Float32, jsLiteral, jsNumber } from './literal.js';
import { compiledMetadata } from './metadata.js';
import type { CompileJsOptions } from './emit-int8.js';

const UNROLL_MAX = 8;

function activation(a: Activation, v: string): string {
  switch (a) {
    case 'relu':
      return `${v} > 0 ? ${v} : 0`;
    case 'tanh':
      return `fr(Math.tanh(${v}))`;
    case 'sigmoid':
      return `fr(1 / (1 + Math.exp(-${v})))`;
    case 'none':
      return v;
  }
}

function layer(i: number, l: DenseLayer): string[] {
  const n = l.inDim;
  // Summation order is the IR's (k = 0, 1, ...): double rounding makes other orders differ.
  const sum =
    n <= UNROLL_MAX
      ? [`const s = ${Array.from({ length: n }, (_, k) => `x[${k}] * W${i}[o${k ? ` + ${k}` : ''}]`).join(' + ')};`]
      : [`let s = 0;`, `for (let k = 0; k < ${n}; k++) s += x[k] * W${i}[o + k];`];
  return [
    `// layer ${i}: ${l.inDim} -> ${l.outDim} (${l.activation})`,
    `function L${i}(x, y) {`,
    `  for (let c = 0, o = 0; c < ${l.outDim}; c++, o += ${n}) {`,
    ...sum.map((s) => `    ${s}`),
    `    const v = fr(fr(s) + B${i}[c]);`,
    `    y[c] = ${activation(l.activation, 'v')};`,
    `  }`,
    `}`,
  ];
}

/** Source of the fp32 compiled module for `model`. */
export function emitFp32Module(model: PolicyModel, opts: CompileJsOptions = {}): string {
  validatePolicy(model);
  const md = compiledMetadata(model, 'fp32', opts);
  const d = model.obsDim;
  const L = model.layers.length;
  const outDim = md.outDim;
  const h = model.head;
  const out: string[] = [
    `// edgedistill fp32 policy${model.envId ? ` for ${model.envId}` : ''} (${[d, ...model.layers.map((l) => l.outDim)].join('-')}), generated. Same float32 maths as the IR.`,
    '// forward() returns a new Float32Array; forwardInto(obs, out) and act() (discrete) allocate nothing.',
    `export const metadata = ${jsLiteral(md)};`,
    DECODERS,
    'const fr = Math.fround;',
  ];
  model.layers.forEach((l, i) => out.push(`const W${i} = F32('${base64Float32(l.weight)}'), B${i} = F32('${base64Float32(l.bias)}');`));
  out.push(`const ${[d, ...model.layers.map((l) => l.outDim)].map((n, i) => `X${i} = new Float64Array(${n})`).join(', ')};`);

  const norm = model.obsNorm;
  const q = ['function N(o) {'];
  for (let i = 0; i < d; i++) {
    let v = `fr(o[${i}])`;
    if (norm) v = `fr(fr(${v} - ${jsNumber(norm.mean[i])}) / ${jsNumber(norm.std[i])})`;
    if (norm && norm.clip !== null) {
      const c = jsNumber(Math.fround(norm.clip)); // the IR stores the clipped value in a Float32Array
      q.push(`  { const v = ${v}; X0[${i}] = v < -${c} ? -${c} : v > ${c} ? ${c} : v; }`);
    } else q.push(`  X0[${i}] = ${v};`);
  }
  q.push('}');
  out.push(...q);
  model.layers.forEach((l, i) => out.push(...layer(i, l)));
  out.push('function run(o) {', '  N(o);', ...model.layers.map((_, i) => `  L${i}(X${i}, X${i + 1});`), '}');

  const y = `X${L}`;
  const fwd = ['export function forwardInto(obs, out) {', '  run(obs);'];
  if (h.kind === 'discrete') {
    fwd.push(`  for (let c = 0; c < ${outDim}; c++) out[c] = ${y}[c];`);
  } else {
    const sq = h.squash === 'tanh' ? squashConstants(h) : null;
    out.push(`const LO = ${jsLiteral(Array.from(h.low))}, HI = ${jsLiteral(Array.from(h.high))};`);
    if (sq) out.push(`const SC = ${jsLiteral(Array.from(sq.scale))}, OF = ${jsLiteral(Array.from(sq.offset))};`);
    fwd.push(`  for (let c = 0; c < ${outDim}; c++) {`, `    let v = ${y}[c];`);
    if (sq) fwd.push('    v = fr(fr(fr(Math.tanh(v)) * SC[c]) + OF[c]);');
    fwd.push('    out[c] = v < LO[c] ? LO[c] : v > HI[c] ? HI[c] : v;', '  }');
  }
  fwd.push('  return out;', '}');
  out.push(...fwd);
  out.push(`export function forward(obs) {`, `  return forwardInto(obs, new Float32Array(${outDim}));`, '}');
  if (h.kind === 'discrete') {
    const start = md.actionSpace.kind === 'discrete' ? (md.actionSpace.start ?? 0) : 0;
    // First maximum wins; a NaN output wins (as numpy.argmax and the IR's argmaxRow).
    out.push(
      'export function act(obs) {',
      '  run(obs);',
      `  let b = 0, v = ${y}[0];`,
      `  if (v === v) for (let c = 1; c < ${outDim}; c++) { const u = ${y}[c]; if (u !== u) { b = c; break; } if (u > v) { v = u; b = c; } }`,
      `  return ${start ? `${start} + ` : ''}b;`,
      '}',
    );
  } else {
    out.push('export function act(obs) {', '  return forward(obs);', '}');
  }
  return `${out.join('\n')}\n`;
}
