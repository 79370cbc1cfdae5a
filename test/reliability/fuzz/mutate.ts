/**
 * fast-check arbitraries that mutate valid inputs: byte-level (bit flips, truncation, insertion,
 * deletion, splicing from another seed, "interesting" 32-bit values over offsets and lengths) and,
 * for JSON, structural (a node replaced by another JSON value, a key deleted, an array duplicated).
 * Mutations are plain data, so fast-check shrinks them (fewer, smaller operations) and a failure
 * prints as a short recipe.
 */
import fc from 'fast-check';

export type ByteOp =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'set'; pos: number; value: number }
  | { op: 'set32'; pos: number; value: number }
  | { op: 'truncate'; keep: number }
  | { op: 'insert'; pos: number; bytes: number[] }
  | { op: 'delete'; pos: number; len: number }
  | { op: 'splice'; from: number; src: number; len: number; pos: number; overwrite: boolean };

const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set' as const), pos: fc.nat(), value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set32' as const), pos: fc.nat(), value: fc.constantFrom(...INTERESTING_32) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('splice' as const), from: fc.nat(), src: fc.nat(), len: fc.integer({ min: 1, max: 256 }), pos: fc.nat(), overwrite: fc.boolean() }),
  },
);

/** Applies byte operations to a copy of `seed`; `others` are the splice sources. */
export function applyBytes(seed: Uint8Array, ops: readonly ByteOp[], others: readonly Uint8Array[]): Uint8Array {
  let b = Uint8Array.from(seed);
  for (const o of ops) {
    const at = (p: number, extra = 0) => (b.length + extra === 0 ? 0 : p % (b.length + extra));
    switch (o.op) {
      case 'flip':
        if (b.length) b[at(o.pos)] ^= 1 << o.bit;
        break;
      case 'set':
        if (b.length) b[at(o.pos)] = o.value;
        break;
      case 'set32': {
        if (b.length >= 4) {
          // Even positions are 4-aligned (flatbuffers offsets are); odd ones not (protobuf varints).
          const p = o.pos % 2 === 0 ? at(o.pos) & ~3 : at(o.pos);
          new DataView(b.buffer).setUint32(Math.min(p, b.length - 4), o.value >>> 0, true);
        }
        break;
      }
      case 'truncate':
        b = b.slice(0, at(o.keep, 1));
        break;
      case 'insert': {
        const p = at(o.pos, 1);
        b = Uint8Array.from([...b.subarray(0, p), ...o.bytes, ...b.subarray(p)]);
        break;
      }
      case 'delete': {
        if (!b.length) break;
        const p = at(o.pos);
        b = Uint8Array.from([...b.subarray(0, p), ...b.subarray(p + o.len)]);
        break;
      }
      case 'splice': {
        const src = others.length ? others[o.from % others.length] : b;
        if (!src.length) break;
        const s = o.src % src.length;
        const chunk = src.subarray(s, s + o.len);
        const p = at(o.pos, 1);
        b = o.overwrite
          ? Uint8Array.from([...b.subarray(0, p), ...chunk, ...b.subarray(Math.min(b.length, p + chunk.length))])
          : Uint8Array.from([...b.subarray(0, p), ...chunk, ...b.subarray(p)]);
        break;
      }
    }
  }
  return b;
}

/** A byte-level mutation of one of `seeds`. */
export function bytesMutation(seeds: readonly Uint8Array[]): fc.Arbitrary<{ seed: number; ops: ByteOp[] }> {
  return fc.record({ seed: fc.integer({ min: 0, max: seeds.length - 1 }), ops: fc.array(byteOp, { minLength: 1, maxLength: 5 }) });
}

// --- JSON ---------------------------------------------------------------------------------------

export type JsonOp =
  | { op: 'replace'; node: number; value: unknown }
  | { op: 'delete'; node: number }
  | { op: 'duplicate'; node: number; times: number };

/** Values that break validators: wrong types, huge or non-integral numbers, empty and long containers. */
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, 1, 0.5, -1e308, 1e308, 2 ** 31, 2 ** 32, 2 ** 53, 1e9, 1e12, '', 'NaN', 'Infinity', '-inf', 'inf', '__proto__', [], {}, [[]], { length: 1e9 }),
  fc.integer({ min: -5, max: 100_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 12 }),
  fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);

export const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('replace' as const), node: fc.nat(), value: nasty }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), node: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), node: fc.nat(), times: fc.integer({ min: 1, max: 3 }) }) },
);

interface Slot {
  parent: Record<string, unknown> | unknown[] | null;
  key: string | number | null;
}

/** Every node of a JSON value in DFS order, with where it hangs (the root has no parent). */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [{ parent: null, key: null }];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x);
      });
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
    }
  };
  walk(root);
  return out;
}

/** Applies structural operations to a deep copy of `seed` (a parsed JSON value); returns the new value. */
export function applyJson(seed: unknown, ops: readonly JsonOp[]): unknown {
  let root: unknown = structuredClone(seed);
  for (const o of ops) {
    const all = slots(root);
    const s = all[o.node % all.length];
    const get = () => (s.parent === null ? root : (s.parent as Record<string | number, unknown>)[s.key as string]);
    const set = (v: unknown) => {
      if (s.parent === null) root = v;
      else (s.parent as Record<string | number, unknown>)[s.key as string] = v;
    };
    if (o.op === 'replace') set(structuredClone(o.value));
    else if (o.op === 'delete') {
      if (s.parent === null) root = undefined;
      else if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete (s.parent as Record<string, unknown>)[s.key as string];
    } else {
      const v = get();
      if (Array.isArray(v)) set(Array.from({ length: o.times + 1 }, () => structuredClone(v)).flat());
      else if (s.parent && Array.isArray(s.parent)) s.parent.splice(s.key as number, 0, ...Array.from({ length: o.times }, () => structuredClone(v)));
    }
  }
  return root;
}

export type Mutation = { kind: 'bytes'; seed: number; ops: ByteOp[] } | { kind: 'json'; seed: number; ops: JsonOp[] };

/** For JSON inputs: mostly structural mutations, some byte-level ones of the text. */
export function mutation(seeds: readonly Uint8Array[], json: boolean): fc.Arbitrary<Mutation> {
  const bytes = bytesMutation(seeds).map((m) => ({ kind: 'bytes' as const, ...m }));
  if (!json) return bytes;
  const structural = fc
    .record({ seed: fc.integer({ min: 0, max: seeds.length - 1 }), ops: fc.array(jsonOp, { minLength: 1, maxLength: 4 }) })
    .map((m) => ({ kind: 'json' as const, ...m }));
  return fc.oneof({ weight: 3, arbitrary: structural }, { weight: 1, arbitrary: bytes });
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** The mutated input's bytes. */
export function applyMutation(m: Mutation, seeds: readonly Uint8Array[]): Uint8Array {
  if (m.kind === 'bytes') return applyBytes(seeds[m.seed], m.ops, seeds);
  const v = applyJson(JSON.parse(dec.decode(seeds[m.seed])), m.ops);
  return enc.encode(v === undefined ? '' : JSON.stringify(v, null, 1));
}
