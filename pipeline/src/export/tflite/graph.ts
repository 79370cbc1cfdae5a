/**
 * A small, format-level description of one TFLite subgraph (tensors + operators in execution
 * order), built up by the variant lowerings and serialized by `serialize.ts`.
 */
import {
  ActivationFunctionType,
  BuiltinOperator,
  BuiltinOptionsType,
  TensorType,
  type ActivationCode,
  type BuiltinOperatorCode,
  type TensorTypeCode,
} from './schema.js';

export interface QuantSpec {
  /** float32 scales (one, or one per channel along `quantizedDimension`). */
  readonly scale: ArrayLike<number>;
  /** int64 in the file; int8/int32 range here. */
  readonly zeroPoint: ArrayLike<number>;
  readonly quantizedDimension?: number;
}

export interface TensorSpec {
  readonly name: string;
  readonly type: TensorTypeCode;
  readonly shape: readonly number[];
  /** Same as shape with -1 for dynamic dimensions; omitted when fully static. */
  readonly shapeSignature?: readonly number[];
  /** Raw little-endian bytes of a constant tensor. */
  readonly data?: Uint8Array;
  readonly quant?: QuantSpec;
}

export interface OpOptions {
  /** BuiltinOptions union tag. */
  readonly type: number;
  readonly fusedActivation?: ActivationCode;
}

export interface OpSpec {
  readonly op: BuiltinOperatorCode;
  readonly version: number;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly options?: OpOptions;
}

export interface NamedTensor {
  readonly name: string;
  readonly tensor: number;
}

export interface GraphSpec {
  readonly tensors: readonly TensorSpec[];
  readonly ops: readonly OpSpec[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly signatureKey: string;
  readonly signatureInputs: readonly NamedTensor[];
  readonly signatureOutputs: readonly NamedTensor[];
  readonly description: string;
  /** Model.metadata entries (name -> bytes in their own buffer). */
  readonly metadata?: readonly { readonly name: string; readonly data: Uint8Array }[];
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  const a = Float32Array.from(values);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function i32Bytes(values: ArrayLike<number>): Uint8Array {
  const a = Int32Array.from(values);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function i8Bytes(values: Int8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export function f16Bytes(bits: Uint16Array): Uint8Array {
  return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
}

/** Incrementally builds a GraphSpec; tensor names must be unique. */
export class GraphBuilder {
  private readonly tensors: TensorSpec[] = [];
  private readonly ops: OpSpec[] = [];
  private readonly names = new Set<string>();

  tensor(spec: TensorSpec): number {
    if (this.names.has(spec.name)) throw new Error(`duplicate tensor name ${spec.name}`);
    this.names.add(spec.name);
    this.tensors.push(spec);
    return this.tensors.length - 1;
  }

  constF32(name: string, values: ArrayLike<number>, shape: readonly number[] = [values.length]): number {
    return this.tensor({ name, type: TensorType.FLOAT32, shape, data: f32Bytes(values) });
  }

  shapeOf(t: number): readonly number[] {
    return this.tensors[t].shape;
  }

  signatureOf(t: number): readonly number[] | undefined {
    return this.tensors[t].shapeSignature;
  }

  /** A new activation tensor like `like` (same shape / signature), with a type and quantization. */
  activationLike(like: number, name: string, type: TensorTypeCode, lastDim?: number, quant?: QuantSpec): number {
    const src = this.tensors[like];
    const shape = lastDim === undefined ? src.shape : [...src.shape.slice(0, -1), lastDim];
    const sig = src.shapeSignature && (lastDim === undefined ? src.shapeSignature : [...src.shapeSignature.slice(0, -1), lastDim]);
    return this.tensor({ name, type, shape, ...(sig ? { shapeSignature: sig } : {}), ...(quant ? { quant } : {}) });
  }

  /** Give tensor `t` a new (unique) name, e.g. the output once it is known to be last. */
  rename(t: number, name: string): void {
    const old = this.tensors[t];
    if (old.name === name) return;
    if (this.names.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.names.delete(old.name);
    this.names.add(name);
    this.tensors[t] = { ...old, name };
  }

  op(spec: OpSpec): void {
    this.ops.push(spec);
  }

  /** Elementwise binary float op with a constant or tensor second operand. */
  binary(op: 'ADD' | 'SUB' | 'MUL' | 'DIV' | 'MINIMUM' | 'MAXIMUM', x: number, y: number, outName: string): number {
    const out = this.activationLike(x, outName, this.tensors[x].type);
    const optionsType = {
      ADD: BuiltinOptionsType.AddOptions,
      SUB: BuiltinOptionsType.SubOptions,
      MUL: BuiltinOptionsType.MulOptions,
      DIV: BuiltinOptionsType.DivOptions,
      MINIMUM: BuiltinOptionsType.MaximumMinimumOptions,
      MAXIMUM: BuiltinOptionsType.MaximumMinimumOptions,
    }[op];
    const hasActivation = op === 'ADD' || op === 'SUB' || op === 'MUL' || op === 'DIV';
    this.op({
      op: BuiltinOperator[op],
      version: 1,
      inputs: [x, y],
      outputs: [out],
      options: hasActivation
        ? { type: optionsType, fusedActivation: ActivationFunctionType.NONE }
        : { type: optionsType },
    });
    return out;
  }

  build(meta: Omit<GraphSpec, 'tensors' | 'ops'>): GraphSpec {
    return { ...meta, tensors: [...this.tensors], ops: [...this.ops] };
  }
}
