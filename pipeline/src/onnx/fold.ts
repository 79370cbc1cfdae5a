/**
 * Constant folding for the ONNX importer: every tensor that does not depend on the graph input
 * (initializers, Constant nodes and ops on them, e.g. torch's `sqrt(var + eps)` or a weight
 * Transpose) is evaluated once to numbers. Ops we do not know simply stay unfolded.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { attr, attrInt, attrInts, decodeTensor, dtypeName, num, sizeOf, type ModelProto, type NodeProto, type NumTensor } from './proto.js';

const f = Math.fround;

function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

function round(dtype: string, v: number): number {
  if (dtype === 'float32') return f(v);
  if (dtype.startsWith('int') || dtype.startsWith('uint')) return Math.trunc(v);
  return v;
}

/** numpy-style broadcasting of a binary op. Returns null when shapes do not broadcast. */
export function broadcastBinary(a: NumTensor, b: NumTensor, op: (x: number, y: number) => number): NumTensor | null {
  const r = Math.max(a.dims.length, b.dims.length);
  const ad = [...new Array(r - a.dims.length).fill(1), ...a.dims];
  const bd = [...new Array(r - b.dims.length).fill(1), ...b.dims];
  const od: number[] = [];
  for (let i = 0; i < r; i++) {
    if (ad[i] !== bd[i] && ad[i] !== 1 && bd[i] !== 1) return null;
    od.push(Math.max(ad[i], bd[i]));
  }
  const as = strides(ad);
  const bs = strides(bd);
  const os = strides(od);
  const n = sizeOf(od);
  const data = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let ia = 0;
    let ib = 0;
    let rem = k;
    for (let i = 0; i < r; i++) {
      const idx = Math.floor(rem / os[i]);
      rem -= idx * os[i];
      if (ad[i] !== 1) ia += idx * as[i];
      if (bd[i] !== 1) ib += idx * bs[i];
    }
    data[k] = round(a.dtype, op(a.data[ia], b.data[ib]));
  }
  return { dtype: a.dtype, dims: od, data };
}

const UNARY: Record<string, (x: number) => number> = {
  Sqrt: Math.sqrt,
  Neg: (x) => -x,
  Reciprocal: (x) => 1 / x,
  Exp: Math.exp,
  Log: Math.log,
  Abs: Math.abs,
  Relu: (x) => (x > 0 ? x : 0),
  Tanh: Math.tanh,
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Identity: (x) => x,
};
const BINARY: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
  Pow: Math.pow,
  Max: Math.max,
  Min: Math.min,
};

function reshapeDims(inDims: number[], shape: number[], allowZero: boolean): number[] | null {
  const out = shape.map((s, i) => (s === 0 && !allowZero ? inDims[i] : s));
  const known = out.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
  const neg = out.filter((s) => s === -1).length;
  if (neg > 1) return null;
  if (neg === 1) {
    if (known === 0 || sizeOf(inDims) % known !== 0) return null;
    return out.map((s) => (s === -1 ? sizeOf(inDims) / known : s));
  }
  return sizeOf(out) === sizeOf(inDims) ? out : null;
}

function castTo(t: NumTensor, to: number): NumTensor {
  const dtype = dtypeName(to);
  return { dtype, dims: t.dims, data: t.data.map((v) => round(dtype, v)) };
}

/** Evaluates one node on constant inputs; null when the op is not one we fold. */
function evalNode(node: NodeProto, ins: (NumTensor | undefined)[], file: string): NumTensor | null {
  const op = node.opType ?? '';
  const a = ins[0];
  if (op === 'Constant') {
    const name = node.output?.[0] ?? '';
    const v = attr(node, 'value');
    if (v?.t) return decodeTensor(v.t, file, name);
    const vf = attr(node, 'value_float');
    if (vf) return { dtype: 'float32', dims: [], data: Float64Array.of(f(vf.f ?? 0)) };
    const vfs = attr(node, 'value_floats');
    if (vfs) return { dtype: 'float32', dims: [vfs.floats?.length ?? 0], data: Float64Array.from(vfs.floats ?? [], f) };
    const vi = attr(node, 'value_int');
    if (vi) return { dtype: 'int64', dims: [], data: Float64Array.of(num(vi.i)) };
    const vis = attr(node, 'value_ints');
    if (vis) return { dtype: 'int64', dims: [vis.ints?.length ?? 0], data: Float64Array.from((vis.ints ?? []).map(num)) };
    return null;
  }
  if (!a) return null;
  if (op in UNARY && ins.length === 1) return { dtype: a.dtype, dims: a.dims, data: a.data.map((v) => round(a.dtype, UNARY[op](v))) };
  if (op in BINARY && ins.length === 2 && ins[1]) return broadcastBinary(a, ins[1], BINARY[op]);
  switch (op) {
    case 'Cast':
      return castTo(a, attrInt(node, 'to', 1));
    case 'Reshape': {
      if (!ins[1]) return null;
      const d = reshapeDims(a.dims, Array.from(ins[1].data), attrInt(node, 'allowzero', 0) === 1);
      return d ? { ...a, dims: d } : null;
    }
    case 'Flatten': {
      let ax = attrInt(node, 'axis', 1);
      if (ax < 0) ax += a.dims.length;
      return { ...a, dims: [sizeOf(a.dims.slice(0, ax)), sizeOf(a.dims.slice(ax))] };
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = ins[1] ? Array.from(ins[1].data) : attrInts(node, 'axes');
      if (op === 'Squeeze') {
        if (!axes) return { ...a, dims: a.dims.filter((d) => d !== 1) };
        const ax = axes.map((x) => (x < 0 ? x + a.dims.length : x));
        return { ...a, dims: a.dims.filter((_, i) => !ax.includes(i)) };
      }
      if (!axes) return null;
      const r = a.dims.length + axes.length;
      const ax = axes.map((x) => (x < 0 ? x + r : x));
      const dims: number[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) dims.push(ax.includes(i) ? 1 : a.dims[k++]);
      return { ...a, dims };
    }
    case 'Transpose': {
      const perm = attrInts(node, 'perm') ?? a.dims.map((_, i) => a.dims.length - 1 - i);
      const od = perm.map((p) => a.dims[p]);
      const is = strides(a.dims);
      const os = strides(od);
      const data = new Float64Array(a.data.length);
      for (let k = 0; k < data.length; k++) {
        let rem = k;
        let src = 0;
        for (let i = 0; i < od.length; i++) {
          const idx = Math.floor(rem / os[i]);
          rem -= idx * os[i];
          src += idx * is[perm[i]];
        }
        data[k] = a.data[src];
      }
      return { dtype: a.dtype, dims: od, data };
    }
    case 'Clip': {
      // opset >= 11: bounds are optional inputs; before that, attributes.
      const has = (k: number) => Boolean(node.input?.[k]);
      const lo = has(1) ? ins[1]?.data[0] : attr(node, 'min')?.f;
      const hi = has(2) ? ins[2]?.data[0] : attr(node, 'max')?.f;
      const l = lo ?? -Infinity;
      const h = hi ?? Infinity;
      return { ...a, data: a.data.map((v) => Math.min(Math.max(v, l), h)) };
    }
    case 'Concat': {
      if (ins.some((t) => !t)) return null;
      const ts = ins as NumTensor[];
      let ax = attrInt(node, 'axis', 0);
      if (ax < 0) ax += a.dims.length;
      if (ax !== 0 && ts.some((t) => t.dims.slice(0, ax).some((d) => d !== 1))) return null; // keep it simple: leading axis
      const data = Float64Array.from(ts.flatMap((t) => Array.from(t.data)));
      const dims = [...a.dims];
      dims[ax] = ts.reduce((s, t) => s + t.dims[ax], 0);
      return { dtype: a.dtype, dims, data };
    }
    default:
      return null;
  }
}

/**
 * Folds every tensor that does not depend on `inputName`. Returns the constants and the set of
 * tensors that do depend on it ("dynamic").
 */
export function foldConstants(
  proto: ModelProto,
  inputName: string,
  file: string,
): { consts: Map<string, NumTensor>; dynamic: Set<string>; shapeOnly: Set<string> } {
  const g = proto.graph!;
  const consts = new Map<string, NumTensor>();
  const dynamic = new Set<string>([inputName]);
  // Tensors that depend on the input only through its shape (Shape -> ... ), e.g. torch's
  // broadcast_tensors Expand shapes or x.view(x.size(0), -1). They never carry observation values.
  const shapeOnly = new Set<string>();
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  // Decode initializers lazily: a large unused initializer of an odd type should not fail the import.
  const getInit = (name: string): NumTensor | undefined => {
    if (consts.has(name)) return consts.get(name);
    const t = inits.get(name);
    if (!t || name === inputName) return undefined;
    try {
      const v = decodeTensor(t, file, name);
      consts.set(name, v);
      return v;
    } catch (e) {
      if (e instanceof EdgeDistillError && e.code === 'UNSUPPORTED') return undefined;
      throw e;
    }
  };
  for (const node of g.node ?? []) {
    const inputs = node.input ?? [];
    const outs = node.output ?? [];
    if (inputs.some((i) => i && dynamic.has(i))) {
      const viaShape = node.opType === 'Shape' || inputs.every((i) => !i || !dynamic.has(i) || shapeOnly.has(i));
      for (const o of outs) {
        dynamic.add(o);
        if (viaShape) shapeOnly.add(o);
      }
      continue;
    }
    const ins = inputs.map((i) => (i ? (consts.get(i) ?? getInit(i)) : undefined));
    // Missing optional inputs ('') are allowed; any other unknown input blocks folding.
    if (inputs.some((i, k) => i && !ins[k])) continue;
    if (outs.length !== 1) continue;
    const v = evalNode(node, ins, file);
    if (v) consts.set(outs[0], v);
  }
  for (const name of inits.keys()) if (!consts.has(name)) getInit(name);
  return { consts, dynamic, shapeOnly };
}
