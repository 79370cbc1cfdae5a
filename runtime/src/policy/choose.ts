/**
 * Which backend runs an artifact: pure functions of the file's kind and the platform, so the choice
 * can be tested for platforms other than this one (e.g. 32-bit ARM).
 */
import { extname } from 'node:path';
import { EdgeDistillError } from '../errors.js';
import type { ArtifactFormat, BackendName, PlatformInfo } from './types.js';

/** Platforms onnxruntime-node ships CPU binaries for (`<os>/<arch>`); 32-bit ARM is not one. */
export const ORT_NODE_PLATFORMS: readonly string[] = [
  'linux/x64',
  'linux/arm64',
  'darwin/x64',
  'darwin/arm64',
  'win32/x64',
  'win32/arm64',
];

/** The format each backend runs. */
export const BACKEND_FORMAT: Readonly<Record<BackendName, ArtifactFormat>> = {
  js: 'compiled-js',
  'ort-node': 'onnx',
  'ort-web': 'onnx',
  litert: 'tflite',
};

const FORMAT_TEXT: Record<ArtifactFormat, string> = {
  onnx: 'ONNX (.onnx)',
  tflite: 'TFLite (.tflite)',
  'compiled-js': 'compiled JS modules (.mjs/.js)',
};

/** True when the bytes carry the TFLite file identifier `TFL3` at offset 4. */
export function isTflite(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c && bytes[7] === 0x33;
}

/**
 * The artifact's format, from its extension, else from its first bytes (TFLite's `TFL3`
 * identifier, an ONNX ModelProto starting with field 1 `ir_version`). Null when unknown.
 */
export function detectFormat(path: string, head: Uint8Array | null): ArtifactFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx') return 'onnx';
  if (ext === '.tflite') return 'tflite';
  if (ext === '.mjs' || ext === '.js') return 'compiled-js';
  if (!head) return null;
  if (isTflite(head)) return 'tflite';
  // ModelProto: tag 0x08 (field 1, varint) = ir_version, a small number.
  if (head.length >= 2 && head[0] === 0x08 && head[1] > 0 && head[1] < 64) return 'onnx';
  return null;
}

export interface PlatformFacts {
  readonly arch: string;
  readonly os: string;
}

export function platformFacts(p: PlatformInfo | undefined): PlatformFacts {
  return { arch: p?.arch ?? process.arch, os: p?.os ?? process.platform };
}

/** Why a backend cannot run on this platform, or null when it can. */
export function platformProblem(backend: BackendName, platform: PlatformFacts): string | null {
  if (backend === 'ort-node' && !ORT_NODE_PLATFORMS.includes(`${platform.os}/${platform.arch}`)) {
    return `onnxruntime-node has no binary for ${platform.os}/${platform.arch}${platform.arch === 'arm' ? ' (32-bit ARM)' : ''}`;
  }
  return null;
}

export interface BackendChoice {
  /** Backends to try, in order. */
  readonly candidates: BackendName[];
  /** Backends left out for this platform, with the reason (reported if no candidate works). */
  readonly skipped: { backend: BackendName; reason: string }[];
}

/**
 * The backends to try for a format on a platform. An explicit `requested` backend is the only
 * candidate; if it cannot run the format or the platform, `EdgeDistillError('UNSUPPORTED')`.
 */
export function chooseBackends(
  format: ArtifactFormat,
  platform: PlatformFacts,
  requested: BackendName | undefined,
  file?: string,
): BackendChoice {
  if (requested !== undefined) {
    if (BACKEND_FORMAT[requested] !== format) {
      const fits = (Object.keys(BACKEND_FORMAT) as BackendName[]).filter((b) => BACKEND_FORMAT[b] === format);
      throw new EdgeDistillError(
        'UNSUPPORTED',
        `the ${requested} backend runs ${FORMAT_TEXT[BACKEND_FORMAT[requested]]}, not ${FORMAT_TEXT[format]}`,
        { file, field: 'backend', suggestion: `use backend ${fits.map((b) => `'${b}'`).join(' or ')}, or leave it out` },
      );
    }
    const problem = platformProblem(requested, platform);
    if (problem) {
      throw new EdgeDistillError('UNSUPPORTED', `the ${requested} backend cannot run here: ${problem}`, {
        file,
        field: 'backend',
        suggestion: requested === 'ort-node' ? "use backend 'ort-web' (onnxruntime's WebAssembly build)" : undefined,
      });
    }
    return { candidates: [requested], skipped: [] };
  }
  const order: Record<ArtifactFormat, BackendName[]> = {
    onnx: ['ort-node', 'ort-web'],
    tflite: ['litert'],
    'compiled-js': ['js'],
  };
  const candidates: BackendName[] = [];
  const skipped: { backend: BackendName; reason: string }[] = [];
  for (const b of order[format]) {
    const problem = platformProblem(b, platform);
    if (problem) skipped.push({ backend: b, reason: problem });
    else candidates.push(b);
  }
  return { candidates, skipped };
}
