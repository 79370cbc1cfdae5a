/**
 * A tiny ONNX (protobuf) reader: walks ModelProto's wire format for the few fields the runtime needs
 * (metadata_props, graph input/output names, types and shapes, node op types), skipping everything
 * else by length. onnxruntime's JS sessions do not expose metadata_props, and the runtime must not
 * depend on protobufjs.
 *
 * Field numbers are from onnx/onnx.proto3 (stable since IR version 3):
 *   ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8, metadata_props 14
 *   StringStringEntryProto: key 1, value 2
 *   GraphProto: node 1, name 2, initializer 5, input 11, output 12
 *   NodeProto: op_type 4, domain 7          TensorProto: name 8
 *   ValueInfoProto: name 1, type 2          TypeProto: tensor_type 1
 *   TypeProto.Tensor: elem_type 1, shape 2  TensorShapeProto: dim 1
 *   Dimension: dim_value 1, dim_param 2
 */
import { EdgeDistillError } from '../errors.js';

/** A dimension: a number when fixed, the symbolic name (`batch`) or null when free. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  readonly name: string;
  /** TensorProto.DataType: 1 = FLOAT, 3 = INT8, 7 = INT64, ...; 0 when not given. */
  readonly elemType: number;
  /** Null when the model gives no shape. */
  readonly shape: OnnxDim[] | null;
}

export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  /** metadata_props, in file order (later duplicates win). */
  readonly metadataProps: Record<string, string>;
  /** Graph inputs that are not initializers (older IR versions list initializers as inputs too). */
  readonly inputs: OnnxValueInfo[];
  readonly outputs: OnnxValueInfo[];
  /** Distinct op types used by the main graph (`Gemm`, `Relu`, `QuantizeLinear`, ...). */
  readonly opTypes: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Cursor over one protobuf message (a byte range). */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    private readonly file: string | undefined,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new EdgeDistillError('BAD_MODEL', `not a valid ONNX file: ${what} at byte ${this.pos}`, {
      file: this.file,
      suggestion: 'the file may be truncated or not ONNX; re-export it',
    });
  }

  /** Unsigned varint as a number (exact below 2^53); 10-byte negatives come back negative. */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        // A negative int64 is encoded as 10 bytes (two's complement).
        return i === 9 && result >= 2 ** 63 ? result - 2 ** 64 : result;
      }
      mul *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a tag; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }

  /** Byte range of a length-delimited field. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len < 0 || start + len > this.end) this.fail('length past end of message');
    this.pos = start + len;
    return [start, start + len];
  }

  string(): string {
    const [s, e] = this.bytes();
    return utf8.decode(this.buf.subarray(s, e));
  }

  sub(): Reader {
    const [s, e] = this.bytes();
    return new Reader(this.buf, s, e, this.file);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) this.fail('truncated fixed-width field');
    this.pos += n;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }
}

/**
 * Reads metadata_props and graph I/O of an ONNX model from its bytes.
 * Throws `EdgeDistillError('BAD_MODEL')` naming `file` when the bytes are not a ModelProto.
 */
export function readOnnxModelInfo(bytes: Uint8Array, file?: string): OnnxModelInfo {
  const r = new Reader(bytes, 0, bytes.length, file);
  let irVersion = 0;
  let producerName = '';
  const metadataProps: Record<string, string> = {};
  let graph: Reader | null = null;
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === 0) irVersion = r.varint();
    else if (field === 2 && wt === 2) producerName = r.string();
    else if (field === 7 && wt === 2) graph = r.sub();
    else if (field === 14 && wt === 2) {
      const e = r.sub();
      let key = '';
      let value = '';
      while (!e.done) {
        const [f, w] = e.tag();
        if (f === 1 && w === 2) key = e.string();
        else if (f === 2 && w === 2) value = e.string();
        else e.skip(w);
      }
      metadataProps[key] = value;
    } else r.skip(wt);
  }
  if (!graph) return r.fail('no graph (ModelProto field 7)');

  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const initializers = new Set<string>();
  const opTypes = new Set<string>();
  while (!graph.done) {
    const [field, wt] = graph.tag();
    if (field === 1 && wt === 2) {
      const n = graph.sub();
      while (!n.done) {
        const [f, w] = n.tag();
        if (f === 4 && w === 2) opTypes.add(n.string());
        else n.skip(w);
      }
    } else if (field === 5 && wt === 2) {
      const t = graph.sub();
      while (!t.done) {
        const [f, w] = t.tag();
        if (f === 8 && w === 2) initializers.add(t.string());
        else t.skip(w); // raw_data and friends are skipped by length, not copied
      }
    } else if (field === 11 && wt === 2) inputs.push(valueInfo(graph.sub()));
    else if (field === 12 && wt === 2) outputs.push(valueInfo(graph.sub()));
    else graph.skip(wt);
  }
  return {
    irVersion,
    producerName,
    metadataProps,
    inputs: inputs.filter((i) => !initializers.has(i.name)),
    outputs,
    opTypes: [...opTypes],
  };
}

function valueInfo(r: Reader): OnnxValueInfo {
  let name = '';
  let elemType = 0;
  let shape: OnnxDim[] | null = null;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) name = r.string();
    else if (f === 2 && w === 2) {
      const type = r.sub();
      while (!type.done) {
        const [tf, tw] = type.tag();
        if (tf === 1 && tw === 2) {
          const tensor = type.sub();
          while (!tensor.done) {
            const [xf, xw] = tensor.tag();
            if (xf === 1 && xw === 0) elemType = tensor.varint();
            else if (xf === 2 && xw === 2) shape = dims(tensor.sub());
            else tensor.skip(xw);
          }
        } else type.skip(tw);
      }
    } else r.skip(w);
  }
  return { name, elemType, shape };
}

function dims(r: Reader): OnnxDim[] {
  const out: OnnxDim[] = [];
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) {
      const d = r.sub();
      let dim: OnnxDim = null;
      while (!d.done) {
        const [df, dw] = d.tag();
        if (df === 1 && dw === 0) dim = d.varint();
        else if (df === 2 && dw === 2) dim = d.string() || null;
        else d.skip(dw);
      }
      out.push(dim);
    } else r.skip(w);
  }
  return out;
}
