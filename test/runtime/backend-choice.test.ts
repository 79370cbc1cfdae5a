import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  EdgeDistillError,
  builtinBackendLoader,
  chooseBackends,
  detectFormat,
  loadPolicy,
  registerBackend,
  type BackendName,
} from '../../runtime/src/index.js';
import { cartpoleModel, compiledModuleSource, tempDir, writeOnnxFile } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const onnxPath = writeOnnxFile(tmp.dir, 'cartpole.onnx', cartpoleModel(1));
const jsPath = join(tmp.dir, 'cartpole.mjs');
writeFileSync(jsPath, compiledModuleSource(cartpoleModel(1)));

// Tests that replace a loader put the built-in back.
const touched = new Set<BackendName>();
function failLoader(name: BackendName, message: string): void {
  touched.add(name);
  registerBackend(name, async () => {
    throw new Error(message);
  });
}
afterEach(() => {
  for (const n of touched) registerBackend(n, builtinBackendLoader(n));
  touched.clear();
});

async function rejection(p: Promise<unknown>): Promise<EdgeDistillError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EdgeDistillError);
  return e as EdgeDistillError;
}

describe('chooseBackends (pure)', () => {
  const x64 = { arch: 'x64', os: 'linux' };
  const arm = { arch: 'arm', os: 'linux' };
  it('orders candidates per format and platform', () => {
    expect(chooseBackends('onnx', x64, undefined).candidates).toEqual(['ort-node', 'ort-web']);
    expect(chooseBackends('onnx', { arch: 'arm64', os: 'linux' }, undefined).candidates).toEqual(['ort-node', 'ort-web']);
    const onArm = chooseBackends('onnx', arm, undefined);
    expect(onArm.candidates).toEqual(['ort-web']);
    expect(onArm.skipped).toEqual([{ backend: 'ort-node', reason: 'onnxruntime-node has no binary for linux/arm (32-bit ARM)' }]);
    expect(chooseBackends('tflite', arm, undefined).candidates).toEqual(['litert']);
    expect(chooseBackends('compiled-js', arm, undefined).candidates).toEqual(['js']);
  });
  it('refuses explicit choices that cannot work', () => {
    expect(() => chooseBackends('onnx', arm, 'ort-node')).toThrow(/ort-node backend cannot run here: onnxruntime-node has no binary for linux\/arm/);
    expect(() => chooseBackends('onnx', x64, 'js')).toThrow(/js backend runs compiled JS modules \(\.mjs\/\.js\), not ONNX/);
    expect(() => chooseBackends('compiled-js', x64, 'ort-web')).toThrow(/ort-web backend runs ONNX \(\.onnx\), not compiled JS/);
    expect(() => chooseBackends('tflite', x64, 'ort-node')).toThrow(EdgeDistillError);
    expect(chooseBackends('onnx', arm, 'ort-web').candidates).toEqual(['ort-web']);
  });
  it('detects formats by extension, else by magic bytes', () => {
    expect(detectFormat('a.onnx', null)).toBe('onnx');
    expect(detectFormat('a.TFLITE', null)).toBe('tflite');
    expect(detectFormat('a.mjs', null)).toBe('compiled-js');
    expect(detectFormat('model.bin', Uint8Array.of(0x1c, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33))).toBe('tflite');
    expect(detectFormat('model.bin', Uint8Array.of(0x08, 0x07, 0x12, 0x03))).toBe('onnx');
    expect(detectFormat('model.bin', new TextEncoder().encode('hello'))).toBeNull();
  });
});

describe('loadPolicy backend choice', () => {
  it('uses ort-web on 32-bit ARM, never ort-node', async () => {
    // Even a broken ort-node must not be touched on arm.
    failLoader('ort-node', 'must not be loaded on arm');
    const p = await loadPolicy(onnxPath, { platform: { arch: 'arm', os: 'linux' } });
    expect(p.backend).toBe('ort-web');
    expect(await p.act([0.1, 0, 0.05, 0])).toBeTypeOf('number');
    await p.dispose();
    const e = await rejection(loadPolicy(onnxPath, { backend: 'ort-node', platform: { arch: 'arm' } }));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.field).toBe('backend');
    expect(e.suggestion).toMatch(/ort-web/);
  });

  it('falls back to ort-web when onnxruntime-node fails to load', async () => {
    failLoader('ort-node', 'libonnxruntime.so.1: cannot open shared object file');
    const p = await loadPolicy(onnxPath);
    expect(p.backend).toBe('ort-web');
    await p.dispose();
  });

  it('an explicit backend never falls back', async () => {
    failLoader('ort-node', 'libonnxruntime.so.1: cannot open shared object file');
    const e = await rejection(loadPolicy(onnxPath, { backend: 'ort-node' }));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toBe('backend ort-node cannot load the policy: [ort-node] libonnxruntime.so.1: cannot open shared object file');
  });

  it('lists every [backend] reason in one error when nothing works', async () => {
    failLoader('ort-node', 'no native binary');
    failLoader('ort-web', 'wasm failed to compile');
    const e = await rejection(loadPolicy(onnxPath));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.file).toBe(onnxPath);
    expect(e.message).toBe('no backend could load the policy: [ort-node] no native binary; [ort-web] wasm failed to compile');
    expect(e.details.map((d) => [d.field, d.text])).toEqual([
      ['ort-node', 'no native binary'],
      ['ort-web', 'wasm failed to compile'],
    ]);
    // On arm, the skipped ort-node is listed with its reason too.
    const f = await rejection(loadPolicy(onnxPath, { platform: { arch: 'arm', os: 'linux' } }));
    expect(f.message).toBe(
      'no backend could load the policy: [ort-node] onnxruntime-node has no binary for linux/arm (32-bit ARM); [ort-web] wasm failed to compile',
    );
  });

  it('memoizes backend init: the loader runs once for many policies', async () => {
    let calls = 0;
    touched.add('ort-web');
    registerBackend('ort-web', async () => {
      calls++;
      return builtinBackendLoader('ort-web')();
    });
    const a = await loadPolicy(onnxPath, { backend: 'ort-web' });
    const b = await loadPolicy(onnxPath, { backend: 'ort-web' });
    expect(calls).toBe(1);
    await a.dispose();
    await b.dispose();
  });

  it('refuses the js backend for ONNX and ORT backends for compiled modules', async () => {
    const e = await rejection(loadPolicy(onnxPath, { backend: 'js' }));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.suggestion).toMatch(/'ort-node' or 'ort-web'/);
    const f = await rejection(loadPolicy(jsPath, { backend: 'ort-node' }));
    expect(f.code).toBe('UNSUPPORTED');
    expect((await loadPolicy(jsPath)).backend).toBe('js');
  });

  it('checks options and files', async () => {
    expect((await rejection(loadPolicy(onnxPath, { backend: 'tfjs' as BackendName }))).code).toBe('BAD_ARGUMENT');
    expect((await rejection(loadPolicy(onnxPath, { threads: 0 }))).code).toBe('BAD_ARGUMENT');
    const missing = await rejection(loadPolicy(join(tmp.dir, 'missing.onnx')));
    expect(missing.code).toBe('IO');
    expect(missing.file).toBe(join(tmp.dir, 'missing.onnx'));
    const txt = join(tmp.dir, 'notes.txt');
    writeFileSync(txt, 'not a model');
    expect((await rejection(loadPolicy(txt))).code).toBe('BAD_MODEL');
  });

  it('threads: ort-node takes any count; ort-web keeps the count it was initialised with', async () => {
    const p = await loadPolicy(onnxPath, { backend: 'ort-node', threads: 2 });
    expect(await p.act([0, 0, 0.1, 0])).toBeTypeOf('number');
    await p.dispose();
    const w = await loadPolicy(onnxPath, { backend: 'ort-web' });
    await w.dispose();
    const e = await rejection(loadPolicy(onnxPath, { backend: 'ort-web', threads: 2 }));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/already runs with 1 thread/);
  });
});
