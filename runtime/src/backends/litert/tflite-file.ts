/**
 * A minimal, bounds-checked reader of the .tflite flatbuffer: enough to reject files that are not
 * TFLite with a located message (before LiteRT's generic "Failed to load model from buffer"), and
 * to read Model.metadata entries, which LiteRT.js does not expose.
 *
 * Slots from tensorflow/compiler/mlir/lite/schema/schema.fbs:
 *   Model: version 0, operator_codes 1, subgraphs 2, description 3, buffers 4, metadata 6
 *   Buffer: data 0        Metadata: name 0, buffer 1
 */
import { EdgeDistillError } from '../../errors.js';

export interface TfliteFileInfo {
  /** Model.version (3 for every current file). */
  readonly version: number;
  readonly description: string | null;
  readonly subgraphs: number;
  /** Model.metadata entries, name -> the bytes of their buffer. */
  readonly metadata: Record<string, Uint8Array>;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

class FlatReader {
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(what: string): never {
    throw new EdgeDistillError('BAD_MODEL', `not a valid TFLite file: ${what}`, {
      file: this.file,
      suggestion: 'the file may be truncated or corrupted; export it again',
    });
  }

  private need(pos: number, len: number, what: string): void {
    if (!(pos >= 0 && len >= 0 && pos + len <= this.buf.length)) {
      this.fail(`${what} at byte ${pos} runs past the end of the file (${this.buf.length} bytes)`);
    }
  }

  u16(pos: number, what: string): number {
    this.need(pos, 2, what);
    return this.view.getUint16(pos, true);
  }

  u32(pos: number, what: string): number {
    this.need(pos, 4, what);
    return this.view.getUint32(pos, true);
  }

  i32(pos: number, what: string): number {
    this.need(pos, 4, what);
    return this.view.getInt32(pos, true);
  }

  /** Position of field `slot`'s value in the table at `table`, or null when absent. */
  field(table: number, slot: number, what: string): number | null {
    const vtable = table - this.i32(table, `${what} table`);
    const vtSize = this.u16(vtable, `${what} vtable`);
    const entry = 4 + 2 * slot;
    if (entry + 2 > vtSize) return null;
    const off = this.u16(vtable + entry, `${what} vtable`);
    return off === 0 ? null : table + off;
  }

  /** Follows an offset stored at `pos`. */
  deref(pos: number, what: string): number {
    const target = pos + this.u32(pos, what);
    this.need(target, 4, what);
    return target;
  }

  vector(pos: number, elemSize: number, what: string): { start: number; length: number } {
    const v = this.deref(pos, what);
    const length = this.u32(v, `${what} length`);
    this.need(v + 4, length * elemSize, what);
    return { start: v + 4, length };
  }

  string(pos: number, what: string): string {
    const { start, length } = this.vector(pos, 1, what);
    return utf8.decode(this.buf.subarray(start, start + length));
  }

  bytes(start: number, length: number): Uint8Array {
    return this.buf.subarray(start, start + length);
  }
}

/** Checks the identifier and top-level structure; reads version, description and metadata. */
export function readTfliteFile(bytes: Uint8Array, file: string): TfliteFileInfo {
  const r = new FlatReader(bytes, file);
  if (bytes.length < 8) r.fail(`only ${bytes.length} bytes`);
  const ident = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
  if (ident !== 'TFL3') r.fail(`file identifier is ${JSON.stringify(ident)}, expected "TFL3"`);
  const model = r.deref(0, 'root table offset');

  const vPos = r.field(model, 0, 'Model');
  const version = vPos === null ? 0 : r.u32(vPos, 'Model.version');
  const dPos = r.field(model, 3, 'Model');
  const description = dPos === null ? null : r.string(dPos, 'Model.description');
  const sPos = r.field(model, 2, 'Model');
  const subgraphs = sPos === null ? 0 : r.vector(sPos, 4, 'Model.subgraphs').length;
  if (subgraphs === 0) r.fail('Model.subgraphs is empty');

  const bPos = r.field(model, 4, 'Model');
  const buffers = bPos === null ? { start: 0, length: 0 } : r.vector(bPos, 4, 'Model.buffers');
  // Every buffer's data must lie inside the file: this is where truncation shows.
  const bufferData: Uint8Array[] = [];
  for (let i = 0; i < buffers.length; i++) {
    const buffer = r.deref(buffers.start + 4 * i, `Model.buffers[${i}]`);
    const data = r.field(buffer, 0, `Model.buffers[${i}]`);
    if (data === null) bufferData.push(new Uint8Array(0));
    else {
      const v = r.vector(data, 1, `Model.buffers[${i}].data`);
      bufferData.push(r.bytes(v.start, v.length));
    }
  }

  const metadata: Record<string, Uint8Array> = {};
  const mPos = r.field(model, 6, 'Model');
  if (mPos !== null) {
    const entries = r.vector(mPos, 4, 'Model.metadata');
    for (let i = 0; i < entries.length; i++) {
      const entry = r.deref(entries.start + 4 * i, `Model.metadata[${i}]`);
      const namePos = r.field(entry, 0, `Model.metadata[${i}]`);
      const bufPos = r.field(entry, 1, `Model.metadata[${i}]`);
      if (namePos === null || bufPos === null) continue;
      const name = r.string(namePos, `Model.metadata[${i}].name`);
      const index = r.u32(bufPos, `Model.metadata[${i}].buffer`);
      if (index >= bufferData.length) r.fail(`Model.metadata[${i}] (${name}) points at buffer ${index} of ${bufferData.length}`);
      metadata[name] = bufferData[index];
    }
  }
  return { version, description, subgraphs, metadata };
}
