/**
 * onnxruntime-node: native CPU kernels. Ships binaries for linux/darwin/win32 on x64 and arm64 only
 * (the choice never picks it on 32-bit ARM). The package is imported on first use.
 */
import { EdgeDistillError } from '../../errors.js';
import type { Backend } from '../backend.js';
import { OrtSession, openError, ortModule, sessionOptions } from './ort-session.js';

export async function createOrtNodeBackend(): Promise<Backend> {
  let ort;
  try {
    ort = ortModule(await import('onnxruntime-node'));
  } catch (e) {
    throw new EdgeDistillError('UNSUPPORTED', `onnxruntime-node failed to load: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
      suggestion: "install onnxruntime-node for this platform, or use backend 'ort-web'",
    });
  }
  const version = ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown';
  return {
    name: 'ort-node',
    formats: ['onnx'],
    async open(artifact, opts) {
      const threads = opts.threads ?? 1;
      try {
        // From the path, so models with external data files load too.
        const session = await ort.InferenceSession.create(artifact.path, sessionOptions('cpu', threads));
        return new OrtSession(ort, session, 'ort-node', artifact.path, { library: 'onnxruntime-node', version, threads });
      } catch (e) {
        throw openError('ort-node', artifact.path, e);
      }
    },
  };
}
