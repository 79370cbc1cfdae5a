/**
 * What the fuzzer feeds, to which loader: each target has valid seed inputs (written by the
 * project's own writers) and runs one loader end to end on a mutated copy. The contract checked by
 * the worker: the loader returns, or throws EdgeDistillError; anything else is a bug.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mlp, seededRandom } from '../../../pipeline/src/ir/build.js';
import { policyToText, readPolicyFile } from '../../../pipeline/src/ir/serialize.js';
import type { PolicyModel } from '../../../pipeline/src/ir/types.js';
import { validatePolicy } from '../../../pipeline/src/ir/validate.js';
import { policyToOnnx } from '../../../pipeline/src/onnx/write.js';
import { assertNoNaNWeights, decodeOnnx, describeValueInfo, realInputs } from '../../../pipeline/src/onnx/proto.js';
import { chooseOutput, ImportRefusal, importOnnxPolicy } from '../../../pipeline/src/onnx/graph-import.js';
import { loadTeacher } from '../../../pipeline/src/onnx/import.js';
import { quantizePolicy } from '../../../pipeline/src/quant/calibrate.js';
import { quantizedToOnnx } from '../../../pipeline/src/export/onnx-int8.js';
import { writeTflite } from '../../../pipeline/src/export/tflite/index.js';
import { compiledMetadata } from '../../../pipeline/src/export/js/index.js';
import { readTrajectoryFile, verifyTrajectory } from '../../../pipeline/src/envs/verify.js';
import { readProfileFile } from '../../../pipeline/src/devices/index.js';
import { readBundleArchive } from '../../../pipeline/src/bundle/index.js';
import { extractSafe, readSafeTarGz } from '../../../pipeline/src/util/safe-tar.js';
import { loadPolicy, validateCompiledModule, readOnnxModelInfo } from '../../../runtime/src/index.js';
import { metadataFromObject, metadataFromProps, readSidecar, resolveMetadata } from '../../../runtime/src/policy/metadata.js';
import { readTfliteFile } from '../../../runtime/src/backends/litert/index.js';
import { readBundleManifest, readGoldenSet, verifyBundleFiles } from '../../../runtime/src/check/bundle.js';
import { loadRunConfig } from '../../../pipeline/src/run/config.js';
import { parse as parseYaml } from 'yaml';
import { controlBundle, generateCorpus } from '../../fixtures/bad/make-bad.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const enc = new TextEncoder();

export interface FuzzContext {
  /** A private scratch directory of the worker. */
  readonly dir: string;
}

export interface Target {
  readonly name: string;
  /** Runs native code (onnxruntime-node) or a wasm runtime: informational, every target runs in a child process. */
  readonly runtime: 'js' | 'onnxruntime-node' | 'onnxruntime-web' | 'litert';
  /** Seeds are JSON text: mutate structurally too. */
  readonly json: boolean;
  seeds(): Uint8Array[];
  /** Feeds one input (`seed`: which seed it was made from). Must return or throw EdgeDistillError. */
  run(input: Uint8Array, ctx: FuzzContext, seed: number): Promise<void> | void;
  /** A good input must still work after many bad ones (a wasm runtime must not be poisoned). */
  health?(ctx: FuzzContext): Promise<void>;
  /**
   * Inputs that trigger a known bug outside this suite's files (listed in the bad-input corpus as
   * a knownBug entry): not run, but counted, so the fuzzer keeps covering everything else.
   */
  knownBug?: { readonly why: string; matches(input: Uint8Array): boolean };
  /** Cases per child process (default: the whole time slice in one process). */
  readonly batchCases?: number;
}

// --- seed models ----------------------------------------------------------------------------------

function models(): PolicyModel[] {
  return [
    mlp({ obsDim: 4, hidden: [16], activation: 'relu', head: { kind: 'discrete', n: 2 }, init: { seed: 1 }, envId: 'CartPole-v1' }),
    mlp({ obsDim: 6, hidden: [8, 8], activation: 'tanh', head: { kind: 'discrete', output: 'q_values', n: 3 }, init: { seed: 2 }, envId: 'Acrobot-v1' }),
    mlp({
      obsDim: 3,
      hidden: [8],
      activation: 'tanh',
      head: { kind: 'continuous', squash: 'tanh', low: [-2], high: [2] },
      obsNorm: { mean: [0.1, -0.2, 0.3], std: [1, 2, 0.5], clip: 5 },
      init: { seed: 3 },
      envId: 'Pendulum-v1',
    }),
    mlp({ obsDim: 2, hidden: [4], activation: 'sigmoid', head: { kind: 'continuous', squash: 'none', low: [-1], high: [1] }, init: { seed: 4 }, envId: 'MountainCarContinuous-v0' }),
  ];
}

/** A model whose first layer shares weights through a 3-entry codebook (policy.json codebook path). */
function sharedModel(): PolicyModel {
  const m = models()[0];
  const l = m.layers[0];
  const centroids = Float32Array.of(-0.25, 0, 0.25);
  const indices = Uint8Array.from(l.weight, (w) => (w < -0.1 ? 0 : w > 0.1 ? 2 : 1));
  const weight = Float32Array.from(indices, (i) => centroids[i]);
  return validatePolicy({ ...m, layers: [{ ...l, weight, codebook: { centroids, indices } }, ...m.layers.slice(1)] });
}

function calibration(m: PolicyModel, rows = 64): Float32Array {
  const rnd = seededRandom(9);
  return Float32Array.from({ length: rows * m.obsDim }, () => rnd() * 4 - 2);
}

function onnxSeeds(): Uint8Array[] {
  const ms = models();
  const corpus = generateCorpus().files;
  return [
    ...ms.map((m) => policyToOnnx(m)),
    quantizedToOnnx(quantizePolicy(ms[0], calibration(ms[0]))),
    corpus.get('onnx/opaque-op.onnx')!,
    corpus.get('sidecar/obs-dim/plain.onnx')!,
  ];
}

function tfliteSeeds(): Uint8Array[] {
  const ms = models();
  return [
    writeTflite(ms[0], { variant: 'fp32' }),
    writeTflite(ms[2], { variant: 'fp32' }),
    writeTflite(ms[1], { variant: 'int8', calibration: calibration(ms[1]) }),
    writeTflite(ms[3], { variant: 'fp16' }),
  ];
}

const text = (v: unknown) => enc.encode(`${JSON.stringify(v, null, 2)}\n`);

function trajectorySeeds(): Uint8Array[] {
  const dir = join(ROOT, 'test/envs/fixtures');
  return readdirSync(dir)
    .filter((f) => f.startsWith('gym-') && f.endsWith('.json') && !f.includes('resets'))
    .sort()
    .slice(0, 6)
    .map((f) => {
      const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { episodes: { steps: unknown[] }[] };
      // Short episodes: mutations then hit structure, not the 500th step.
      d.episodes = d.episodes.slice(0, 2).map((e) => ({ ...e, steps: e.steps.slice(0, 3) }));
      return text(d);
    });
}

function write(ctx: FuzzContext, name: string, b: Uint8Array): string {
  const p = join(ctx.dir, name);
  writeFileSync(p, b);
  return p;
}

/** Runs a policy once on a zero observation (load + one act is what a device does first). */
async function loadAndAct(path: string, backend: 'ort-node' | 'ort-web' | 'litert'): Promise<void> {
  const p = await loadPolicy(path, { backend });
  try {
    await p.act(new Float32Array(p.metadata.obsDim));
  } finally {
    await p.dispose();
  }
}

/** The io of sidecar/obs-dim/plain.onnx (input [batch, 4], output logits [batch, 2]). */
const PLAIN_IO = { input: { name: 'obs', shape: ['batch', 4] }, outputs: [{ name: 'logits', shape: ['batch', 2] }] };

// --- targets ---------------------------------------------------------------------------------------

export const TARGETS: readonly Target[] = [
  {
    name: 'onnx.import',
    runtime: 'js',
    json: false,
    seeds: onnxSeeds,
    run(input) {
      // loadTeacher's pure part: decode, NaN scan, output choice, graph import (ImportRefusal keeps it opaque).
      const proto = decodeOnnx(input, 'fuzz.onnx');
      assertNoNaNWeights(proto, 'fuzz.onnx');
      realInputs(proto).map(describeValueInfo);
      const choice = chooseOutput(proto, 'fuzz.onnx');
      try {
        validatePolicy(importOnnxPolicy(proto, { file: 'fuzz.onnx', choice }), 'fuzz.onnx');
      } catch (e) {
        if (!(e instanceof ImportRefusal)) throw e;
      }
    },
  },
  {
    name: 'onnx.runtime-info',
    runtime: 'js',
    json: false,
    seeds: onnxSeeds,
    run(input) {
      // What runtime loadPolicy reads before any backend: the wire-format reader and the metadata.
      const info = readOnnxModelInfo(input, 'fuzz.onnx');
      const embedded = metadataFromProps(info.metadataProps, 'fuzz.onnx');
      if (info.inputs.length !== 1) return;
      resolveMetadata({
        path: 'fuzz.onnx',
        format: 'onnx',
        variantHint: 'fp32',
        embedded,
        sidecar: null,
        io: { input: { name: info.inputs[0].name, shape: info.inputs[0].shape }, outputs: info.outputs.map((o) => ({ name: o.name, shape: o.shape })) },
        actionSpace: undefined,
      });
    },
  },
  {
    name: 'onnx.teacher',
    runtime: 'onnxruntime-node',
    json: false,
    seeds: onnxSeeds,
    async run(input, ctx) {
      const t = await loadTeacher(write(ctx, 'teacher.onnx', input));
      await t.dispose();
    },
  },
  {
    name: 'onnx.policy-ort-node',
    runtime: 'onnxruntime-node',
    json: false,
    seeds: onnxSeeds,
    run: (input, ctx) => loadAndAct(write(ctx, 'policy.onnx', input), 'ort-node'),
  },
  {
    name: 'onnx.policy-ort-web',
    runtime: 'onnxruntime-web',
    json: false,
    seeds: onnxSeeds,
    run: (input, ctx) => loadAndAct(write(ctx, 'policy.onnx', input), 'ort-web'),
    health: async (ctx) => loadAndAct(write(ctx, 'health.onnx', onnxSeeds()[0]), 'ort-web'),
  },
  {
    name: 'tflite.file',
    runtime: 'js',
    json: false,
    seeds: tfliteSeeds,
    run(input) {
      const info = readTfliteFile(input, 'fuzz.tflite');
      const md = info.metadata.edgedistill;
      if (md) {
        try {
          metadataFromObject(JSON.parse(new TextDecoder().decode(md)), 'fuzz.tflite', 'metadata');
        } catch (e) {
          if (!(e instanceof SyntaxError)) throw e; // openTfliteModel wraps bad JSON itself
        }
      }
    },
  },
  {
    name: 'tflite.policy-litert',
    runtime: 'litert',
    json: false,
    seeds: tfliteSeeds,
    run: (input, ctx) => loadAndAct(write(ctx, 'policy.tflite', input), 'litert'),
    // LiteRT.js leaks on every model it refuses; ~400 refusals leave it unusable in that process
    // (a known bug, runtime-guarantees.test.ts). Fresh processes every 300 cases keep the fuzzer
    // testing our loader rather than rediscovering that leak; the health check still catches any
    // other poisoning within a batch.
    batchCases: 300,
    health: async (ctx) => loadAndAct(write(ctx, 'health.tflite', tfliteSeeds()[0]), 'litert'),
  },
  {
    name: 'policy.json',
    runtime: 'js',
    json: true,
    seeds: () => [...models(), sharedModel()].map((m) => enc.encode(policyToText(m))),
    async run(input, ctx) {
      await readPolicyFile(write(ctx, 'policy.json', input));
    },
  },
  {
    name: 'trajectory',
    runtime: 'js',
    json: true,
    seeds: trajectorySeeds,
    async run(input, ctx) {
      const path = write(ctx, 'trajectory.json', input);
      verifyTrajectory(await readTrajectoryFile(path), path);
    },
    knownBug: {
      why: 'Acrobot setState accepts any finite angle and wrap() (runtime/src/envs/acrobot.ts) subtracts 2*pi in a loop: a state velocity of 1e3 makes a step take 50 ms, 5e4 never ends (corpus entry trajectory-acrobot-huge-state)',
      matches(input) {
        let d: unknown;
        try {
          d = JSON.parse(new TextDecoder().decode(input));
        } catch {
          return false;
        }
        if (!d || typeof d !== 'object' || !String((d as { env?: unknown }).env).includes('Acrobot')) return false;
        // A state Acrobot never reaches (angles within pi, velocities within 9 pi): from |v| ~ 1e3 on,
        // the integrated angles are so large that wrap() takes seconds, then forever.
        const big = (v: unknown): boolean => (typeof v === 'number' ? Math.abs(v) > 100 : Array.isArray(v) ? v.some(big) : false);
        const states = (v: unknown): boolean =>
          Array.isArray(v)
            ? v.some(states)
            : v !== null && typeof v === 'object'
              ? Object.entries(v).some(([k, x]) => ((k === 'initial_state' || k === 'state') && big(x)) || states(x))
              : false;
        return states((d as { episodes?: unknown }).episodes);
      },
    },
  },
  {
    name: 'device-profile',
    runtime: 'js',
    json: true,
    seeds: () =>
      readdirSync(join(ROOT, 'devices'))
        .filter((f) => f.endsWith('.json') && f !== 'schema.json')
        .sort()
        .map((f) => readFileSync(join(ROOT, 'devices', f))),
    run(input, ctx, seed) {
      // Named as the seed's id, so an unmutated id is valid.
      const ids = readdirSync(join(ROOT, 'devices')).filter((f) => f.endsWith('.json') && f !== 'schema.json').sort();
      readProfileFile(write(ctx, ids[seed], input));
    },
  },
  {
    name: 'bundle.manifest',
    runtime: 'js',
    json: true,
    seeds: () => [text(controlBundle().manifest)],
    run(input, ctx) {
      const dir = bundleDir(ctx);
      writeFileSync(join(dir, 'manifest.json'), input);
      const b = readBundleManifest(dir);
      verifyBundleFiles(b);
      readGoldenSet(b, 4);
    },
  },
  {
    name: 'bundle.golden',
    runtime: 'js',
    json: true,
    seeds: () => [controlBundle().files.get('golden.json')!],
    run(input, ctx) {
      const dir = bundleDir(ctx);
      writeFileSync(join(dir, 'golden.json'), input);
      readGoldenSet(readBundleManifest(dir), 4);
    },
  },
  {
    name: 'bundle.archive',
    runtime: 'js',
    json: false,
    seeds: tarSeeds,
    run(input, ctx) {
      // The tar is mutated, then gzipped (mutating gzip bytes mostly tests zlib's CRC check).
      readBundleArchive(write(ctx, 'bundle.tar.gz', gzipNoHeaderTime(input)));
    },
  },
  {
    name: 'safe-tar',
    runtime: 'js',
    json: false,
    seeds: tarSeeds,
    run(input, ctx) {
      const entries = readSafeTarGz(gzipNoHeaderTime(input), 'fuzz.tar.gz');
      // Whatever it accepts must extract inside the destination.
      const root = join(ctx.dir, 'x');
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root);
      extractSafe(entries, join(root, 'dest'));
      const outside = readdirSync(root).filter((n) => n !== 'dest');
      if (outside.length) throw new Error(`extractSafe wrote outside its destination: ${outside.join(', ')}`);
    },
  },
  {
    name: 'sidecar',
    runtime: 'js',
    json: true,
    seeds: () => {
      const ms = models();
      const sc = (m: PolicyModel) => {
        const md = compiledMetadata(m, 'fp32') as unknown as Record<string, unknown>;
        return text({ ...md, obsDim: 4, outDim: 2, actionSpace: { kind: 'discrete', n: 2, start: 0 }, observationSpace: { shape: [4], low: [-1, -1, -1, -1], high: [1, 1, 1, 1] }, outputName: 'logits', head: { kind: 'discrete', output: 'logits', n: 2 } });
      };
      return [sc(ms[0]), text({ envId: 'CartPole-v1' }), text({ 'edgedistill.head': 'logits', 'edgedistill.obs_dim': '4', 'edgedistill.action_space': '{"kind":"discrete","n":2}' })];
    },
    run(input, ctx) {
      const model = join(ctx.dir, 'plain.onnx');
      writeFileSync(`${model}.meta.json`, input);
      resolveMetadata({ path: model, format: 'onnx', variantHint: 'fp32', embedded: null, sidecar: readSidecar(model), io: PLAIN_IO, actionSpace: undefined });
    },
  },
  {
    name: 'compiled.metadata',
    runtime: 'js',
    json: true,
    seeds: () => models().map((m) => text(compiledMetadata(m, 'fp32'))),
    run(input) {
      // The js backend's checks of a module's `metadata` export (the code itself is not run: a
      // mutated module is not a loader input, it is arbitrary code).
      let metadata: unknown;
      try {
        metadata = JSON.parse(new TextDecoder().decode(input));
      } catch {
        return; // a module's metadata is a JS object, never JSON text: byte-level damage is not an input here
      }
      const parsed = validateCompiledModule({ metadata, forward: () => new Float32Array(0), act: () => 0 }, 'fuzz.mjs');
      const md = parsed.module.metadata;
      resolveMetadata({
        path: 'fuzz.mjs',
        format: 'compiled-js',
        variantHint: 'fp32',
        embedded: metadataFromObject(md, 'fuzz.mjs', 'metadata'),
        sidecar: null,
        io: { input: { name: 'obs', shape: [null, md.obsDim] }, outputs: [{ name: md.outputName, shape: [null, md.outDim] }] },
        actionSpace: undefined,
      });
    },
  },
  {
    name: 'run-config',
    runtime: 'js',
    json: true,
    // The shipped configs as JSON (YAML 1.2 reads JSON too), so they mutate structurally.
    seeds: () =>
      readdirSync(join(ROOT, 'configs'))
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => text(parseYaml(readFileSync(join(ROOT, 'configs', f), 'utf8')))),
    run(input, ctx) {
      loadRunConfig(write(ctx, 'run.yaml', input), { out: join(ctx.dir, 'out') });
    },
  },
];

function tarSeeds(): Uint8Array[] {
  const c = generateCorpus().files;
  return ['bundle/control.tar.gz', 'bundle/escape-symlink.tar.gz', 'bundle/escape-hardlink-dotdot.tar.gz'].map((p) => new Uint8Array(gunzipSync(c.get(p)!)));
}

/** gzip level 1: the mutation is in the tar, compression only wraps it. */
const gzipNoHeaderTime = (b: Uint8Array): Uint8Array => new Uint8Array(gzipSync(b, { level: 1 }));

let control: ReturnType<typeof controlBundle> | null = null;

/** A fresh copy of the control bundle's files (manifest.json written by the caller). */
function bundleDir(ctx: FuzzContext): string {
  const dir = join(ctx.dir, 'bundle');
  rmSync(dir, { recursive: true, force: true });
  control ??= controlBundle();
  const { files, manifest } = control;
  for (const [p, b] of files) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), b);
  }
  writeFileSync(join(dir, 'manifest.json'), text(manifest));
  return dir;
}
