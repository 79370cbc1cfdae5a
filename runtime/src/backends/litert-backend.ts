/**
 * Thin adapter registering LiteRT.js (./litert/, `openTfliteModel`) as the policy backend
 * `litert`. Loaded only through the registry's dynamic import, so @litertjs/core stays out of the
 * runtime's static import graph.
 */
import { EdgeDistillError } from '../errors.js';
import type { ArtifactFacts, Backend, BackendSession, SessionBinding } from '../policy/backend.js';
import { metadataFromObject } from '../policy/metadata.js';
import type { ArtifactVariant } from '../policy/types.js';
import { loadLiteRt, openTfliteModel, METADATA_NAME, type TfliteModel } from './litert/index.js';

export async function createLiteRtBackend(): Promise<Backend> {
  // Initialise the wasm runtime now, so a missing package is a backend failure, not a model one.
  const rt = await loadLiteRt();
  return {
    name: 'litert',
    formats: ['tflite'],
    async open(artifact, opts) {
      if (opts.threads !== undefined && opts.threads !== 1) {
        throw new EdgeDistillError('UNSUPPORTED', `LiteRT.js runs on one wasm thread; threads: ${opts.threads} cannot be honoured`, {
          file: artifact.path,
          field: 'threads',
        });
      }
      const model = await openTfliteModel(artifact.bytes ?? artifact.path, { name: artifact.path });
      return new LiteRtSession(model, rt.wasmFile);
    },
  };
}

class LiteRtSession implements BackendSession {
  readonly facts: ArtifactFacts;
  readonly info: Readonly<Record<string, unknown>>;

  constructor(
    private readonly model: TfliteModel,
    wasmFile: string,
  ) {
    const md = model.metadata;
    const variant = md?.variant;
    this.facts = {
      // openTfliteModel runs any number of rows (it chunks and pads to the file's fixed batch).
      io: {
        input: { name: model.inputs[0].name, shape: [null, model.obsDim] },
        outputs: model.outputs.map((o) => ({ name: o.name, shape: [null, model.outDim] })),
      },
      embedded: md ? metadataFromObject(md, model.file, `metadata["${METADATA_NAME}"]`) : null,
      variantHint: variant === 'fp32' || variant === 'fp16' || variant === 'int8' ? (variant as ArtifactVariant) : 'unknown',
    };
    this.info = { library: '@litertjs/core', wasmFile, threads: 1, fileBatch: model.batch };
  }

  bind(_binding: SessionBinding): void {}

  run(input: Float32Array, rows: number): Promise<Float32Array> {
    return this.model.run(input, rows);
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
