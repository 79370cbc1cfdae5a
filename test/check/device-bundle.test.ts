/**
 * The device CLI bundled the way the bundle builder does it: esbuild, one ESM file for Node 18+,
 * the three backend packages external. On a device the bundled file finds them the way Node's ESM
 * resolver finds any package: in a node_modules directory next to the file or in one of its
 * parents (NODE_PATH is not consulted by `import()`). Here the release directory sits in a temp dir
 * whose node_modules is a symlink to the repo's, which is the layout a device gets:
 *
 *   <root>/node_modules/{onnxruntime-node,onnxruntime-web,@litertjs/core}
 *   <root>/release/edgedistill-device.mjs        <- node edgedistill-device.mjs check
 */
import { mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forward as irForward } from '../../pipeline/src/ir/index.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { writeTfliteQuantized } from '../../pipeline/src/export/tflite/index.js';
import { forwardInt8, quantizePolicy } from '../../pipeline/src/quant/index.js';
import { deviceCliBuildOptions, type CheckReport } from '../../runtime/src/check/index.js';
import { readJson, repo, run, standardArtifacts, studentModel, teacherModel, teacherVisited, tempDir, writeBundle } from './helpers.js';

const tmp = tempDir('edgedistill-device-bundle-');
const root = join(tmp.dir, 'root');
const release = join(root, 'release');
const cli = join(release, 'edgedistill-device.mjs');
const bundleDir = join(release, 'bundle');
let meta: Metafile;
const DEVICE_EXTERNALS = ['onnxruntime-node', 'onnxruntime-web', '@litertjs/core'];

beforeAll(async () => {
  mkdirSync(release, { recursive: true });
  // The options the bundle builder uses (runtime/src/check/device-cli-build.ts).
  const opts = deviceCliBuildOptions(cli);
  expect(opts.entryPoints).toEqual([join(repo, 'runtime/bin/edgedistill-device.ts')]);
  expect(opts).toMatchObject({ bundle: true, platform: 'node', format: 'esm', target: 'node18', external: DEVICE_EXTERNALS });
  const result = await build({ ...opts, metafile: true, logLevel: 'silent' });
  expect(result.errors).toEqual([]);
  meta = result.metafile;

  const goldenObs = teacherVisited(teacherModel(), 32);
  const student = studentModel();
  const qp = quantizePolicy(student, Float32Array.from(goldenObs.flat()));
  const [teacher, , int8js] = standardArtifacts(goldenObs);
  writeBundle(bundleDir, {
    goldenObs,
    checkEpisodes: 2,
    artifacts: [
      teacher,
      int8js,
      { name: 'student-tflite-int8', role: 'student', file: 'student.int8.tflite', format: 'tflite-int8', backend: 'litert', bytes: writeTfliteQuantized(qp), desktop: (o) => forwardInt8(qp, o, 1) },
      { name: 'student-onnx-wasm', role: 'student', file: 'student.onnx', format: 'onnx', backend: 'ort-web', bytes: policyToOnnx(student), desktop: (o) => irForward(student, o, 1) },
    ],
  });
});
afterAll(() => tmp.cleanup());

describe('edgedistill-device bundled by esbuild', () => {
  it('is one small file: no pipeline or tfjs code, backend packages only behind dynamic imports', () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((p) => p.includes('pipeline/') || p.includes('@tensorflow') || p.includes('node_modules/'))).toEqual([]);
    const [out] = Object.values(meta.outputs);
    const external = out.imports.filter((i) => i.external);
    for (const pkg of DEVICE_EXTERNALS) {
      expect(external.filter((i) => i.path === pkg).map((i) => i.kind), pkg).toEqual(['dynamic-import']);
    }
    expect(external.filter((i) => !DEVICE_EXTERNALS.includes(i.path) && !i.path.startsWith('node:'))).toEqual([]);
    expect(statSync(cli).size).toBeLessThan(400_000);
  });

  it('runs --help with nothing installed next to it', async () => {
    const r = await run(process.execPath, [cli, '--help'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Example:');
  });

  it('without node_modules, a backend package is missing: exit 3 naming the artifact and the package', async () => {
    const r = await run(process.execPath, [cli, 'check', bundleDir, '--calls', '200', '--episodes', '1']);
    expect(r.code).toBe(3);
    // Students are measured first; the js one needs nothing, the LiteRT one is the first to fail.
    expect(r.stderr).toMatch(/^error\[UNSUPPORTED\] .*student\.int8\.tflite: backend litert cannot load the policy: .*Cannot find module '@litertjs\/core/m);
  });

  it('checks the bundle from inside it (default BUNDLE_DIR .) on all four backends', async () => {
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
    const r = await run(process.execPath, [cli, 'check', '--json'], { cwd: bundleDir });
    expect(r.code, r.stderr).toBe(0);
    const report = readJson<CheckReport>(join(bundleDir, 'check-report.json'));
    expect(JSON.parse(r.stdout)).toEqual(report);
    expect(report.artifacts.map((a) => [a.name, a.backend, a.latencyUs.calls])).toEqual([
      ['teacher', 'ort-node', 10_000],
      ['student-js-int8', 'js', 10_000],
      ['student-tflite-int8', 'litert', 10_000],
      ['student-onnx-wasm', 'ort-web', 10_000],
    ]);
    const by = Object.fromEntries(report.artifacts.map((a) => [a.name, a]));
    // int8 in LiteRT is bit-identical to the int8 reference (and to the int8 JS module).
    expect(by['student-tflite-int8'].maxAbsErrorVsDesktop).toBe(0);
    expect(by['student-tflite-int8'].agreement).toBe(by['student-js-int8'].agreement);
    expect(by['student-onnx-wasm'].maxAbsErrorVsDesktop).toBeLessThan(1e-4);
    expect(report.passed).toBe(true);
  });
});
