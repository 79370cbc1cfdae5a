/**
 * The `js` backend: imports a compiled policy module (see ../compiled-module.ts) and runs it
 * synchronously. Nothing to install: the module is plain JavaScript.
 */
import { readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { EdgeDistillError } from '../../errors.js';
import type { ArtifactFacts, Backend, BackendSession, SessionBinding } from '../backend.js';
import { checkStandaloneSource, validateCompiledModule, type ParsedCompiledModule } from '../compiled-module.js';
import { decodeAction } from '../decode.js';
import { metadataFromObject } from '../metadata.js';

export async function createJsBackend(): Promise<Backend> {
  return {
    name: 'js',
    formats: ['compiled-js'],
    async open(artifact) {
      const file = artifact.path;
      let source: string;
      let mtime: number;
      try {
        source = readFileSync(file, 'utf8');
        mtime = statSync(file).mtimeMs;
      } catch (e) {
        throw new EdgeDistillError('IO', `cannot read compiled module: ${(e as Error).message}`, { file, cause: e });
      }
      checkStandaloneSource(source, file);
      // The query makes a rewritten file a new module (ESM caches by URL).
      const url = `${pathToFileURL(file).href}?mtime=${mtime}`;
      let ns: unknown;
      try {
        ns = await import(/* @vite-ignore */ url);
      } catch (e) {
        const msg = (e as Error)?.message ?? String(e);
        throw new EdgeDistillError('BAD_MODEL', `cannot import compiled module: ${msg}`, {
          file,
          cause: e,
          suggestion: /export|import statement/.test(msg) ? 'name it .mjs so Node loads it as an ES module' : undefined,
        });
      }
      const parsed = validateCompiledModule(ns, file);
      probe(parsed, file);
      return new JsSession(parsed, file);
    },
  };
}

class JsSession implements BackendSession {
  readonly facts: ArtifactFacts;
  readonly info: Readonly<Record<string, unknown>> = { library: 'compiled module' };
  private readonly forward: (obs: ArrayLike<number>) => Float32Array;
  private readonly obsDim: number;
  private readonly outDim: number;

  constructor(
    parsed: ParsedCompiledModule,
    private readonly file: string,
  ) {
    const md = parsed.module.metadata;
    this.forward = parsed.module.forward;
    this.obsDim = md.obsDim;
    this.outDim = md.outDim;
    this.facts = {
      io: {
        input: { name: 'obs', shape: [null, md.obsDim] },
        outputs: [{ name: md.outputName, shape: [null, md.outDim] }],
      },
      embedded: metadataFromObject(md, file, 'metadata'),
      variantHint: md.variant,
    };
  }

  bind(_binding: SessionBinding): void {}

  private call(x: Float32Array): Float32Array {
    const y = this.forward(x);
    if (!(y instanceof Float32Array) || y.length !== this.outDim) {
      throw new EdgeDistillError('RUNTIME', `forward() returned ${describe(y)}, expected a Float32Array of ${this.outDim}`, {
        file: this.file,
        field: 'forward',
      });
    }
    return y;
  }

  runSync(input: Float32Array, rows: number): Float32Array {
    if (rows === 1) return this.call(input);
    const out = new Float32Array(rows * this.outDim);
    for (let r = 0; r < rows; r++) {
      out.set(this.call(input.subarray(r * this.obsDim, (r + 1) * this.obsDim)), r * this.outDim);
    }
    return out;
  }

  async run(input: Float32Array, rows: number): Promise<Float32Array> {
    return this.runSync(input, rows);
  }

  async dispose(): Promise<void> {}
}

function describe(y: unknown): string {
  if (y instanceof Float32Array) return `a Float32Array of ${y.length}`;
  if (Array.isArray(y)) return `an array of ${y.length}`;
  return y === null ? 'null' : typeof y;
}

/**
 * Runs the module once at load on an observation inside its space (0 clipped to the bounds), so a
 * broken module fails at load (BAD_MODEL) rather than on the robot: forward must give `outDim`
 * finite values and act must agree with the runtime's own decoding of them.
 */
function probe(parsed: ParsedCompiledModule, file: string): void {
  const { module: mod, observationSpace, actionSpace } = parsed;
  const md = mod.metadata;
  const x = new Float32Array(md.obsDim);
  for (let i = 0; i < x.length; i++) x[i] = Math.min(Math.max(0, observationSpace.low[i]), observationSpace.high[i]);
  const fail = (field: string, text: string, cause?: unknown): never => {
    throw new EdgeDistillError('BAD_MODEL', `compiled module failed its load check: ${text}`, { file, field, cause });
  };
  let y: unknown;
  try {
    y = mod.forward(x);
  } catch (e) {
    return fail('forward', `forward() threw: ${(e as Error)?.message ?? String(e)}`, e);
  }
  if (!(y instanceof Float32Array) || y.length !== md.outDim) {
    return fail('forward', `forward() returned ${describe(y)}, expected a Float32Array of ${md.outDim}`);
  }
  const nan = y.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) fail(`forward[${nan}]`, 'forward() returned NaN');
  const expected = decodeAction(y, 0, actionSpace, { file, backend: 'js', outputName: md.outputName });
  let a: unknown;
  try {
    a = mod.act(x);
  } catch (e) {
    return fail('act', `act() threw: ${(e as Error)?.message ?? String(e)}`, e);
  }
  const agree =
    typeof expected === 'number'
      ? a === expected
      : (a instanceof Float32Array || Array.isArray(a)) &&
        a.length === expected.length &&
        expected.every((v, i) => Math.abs(v - Number((a as ArrayLike<number>)[i])) <= 1e-6 * Math.max(1, Math.abs(v)));
  if (!agree) {
    fail('act', `act() gave ${a instanceof Float32Array ? `[${Array.from(a).join(', ')}]` : String(a)} but forward() decodes to ${typeof expected === 'number' ? expected : `[${Array.from(expected).join(', ')}]`}`);
  }
}
