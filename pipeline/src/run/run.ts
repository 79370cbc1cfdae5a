/**
 * `runPipeline`: the whole job for one config, stage by stage, each calling the stage's library
 * entry and writing into its own folder of OUT:
 *   teacher   shipped (models/<env>/teacher.onnx) or a file, loaded once through the ONNX importer
 *   distill   OUT/distill: student.onnx, policy.json, report.json
 *   compress  OUT/compress: prune (fine-tuned), int8 (PTQ, QAT when PTQ misses) -> policy.json,
 *             policy-int8.json, compress-report.json
 *   export    OUT/export: every format behind its parity gate, artifacts.json, golden.json
 *   bundles   OUT/bundles: one .tar.gz per device profile
 *   check     OUT/check/<host profile>: this machine's bundle unpacked and checked by its own
 *             device CLI in a separate Node process, as a device does; check-report.json there
 *   report    OUT/report.html + OUT/report.json (with the run's stage times), OUT/run.json
 * A failing stage stops the run: later stages do not run, what earlier stages wrote stays, the
 * report is still written (it shows how far the run got and why it stopped), and the result says
 * which stage failed and why.
 */
import { statSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { makeEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { CheckReport } from '../../../runtime/src/check/report.js';
import { createBundle, readBundleArchive } from '../bundle/index.js';
import { compress, writeCompressArtifacts, type CompressReport } from '../compress/index.js';
import { distill, openTeacher, writeDistillArtifacts, type DistillReport, type TeacherLike } from '../distill/index.js';
import { teacherParams } from '../distill/teacher.js';
import { exportPolicy, ExportParityError, type ArtifactsManifest } from '../export/index.js';
import type { PolicyModel } from '../ir/types.js';
import { writeOnnx } from '../onnx/write.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RunConfig } from './config.js';
import { runDeviceCheck, unpackBundle } from './device-check.js';
import { writeRunReport } from './report.js';
import { buildSummary, bytesText, pct, STAGES, type BundleFacts, type RunSummary, type StageName, type StageRecord, type TeacherFacts } from './summary.js';

export interface RunProgress {
  readonly stage: StageName;
  /** 0-based position of the stage in STAGES. */
  readonly index: number;
  readonly total: number;
  readonly event: 'start' | 'update' | 'done' | 'failed' | 'skipped';
  readonly detail: string;
  /** Seconds since the stage started. */
  readonly seconds: number;
}

export interface RunOptions {
  /** Replaces the config's output directory. */
  readonly outDir?: string;
  readonly onProgress?: (p: RunProgress) => void;
}

export interface RunFailure {
  readonly stage: StageName;
  readonly message: string;
  /** The error the stage threw (null when a check ran and its budgets failed). */
  readonly error: Error | null;
  /** A check ran and failed (the parity gate, the device budgets), rather than an error. */
  readonly checkFailed: boolean;
}

export interface RunResult {
  readonly ok: boolean;
  readonly config: RunConfig;
  readonly out: string;
  readonly summary: RunSummary;
  readonly failure: RunFailure | null;
  /** artifacts.json as written (also when the parity gate failed), for the parity table. */
  readonly artifacts: ArtifactsManifest | null;
  readonly files: {
    readonly report: { readonly html: string; readonly json: string } | null;
    readonly run: string;
    readonly bundles: readonly string[];
    readonly checkReport: string | null;
  };
}

/** Stage folders and files a run owns in OUT (cleared first, so nothing stale mixes in). */
export const STAGE_DIRS = { distill: 'distill', compress: 'compress', export: 'export', bundles: 'bundles', check: 'check' } as const;
export const RUN_JSON = 'run.json';

const now = () => performance.now() / 1000;

/** A path as the user would type it: relative to the current directory when inside it. */
export function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

export async function runPipeline(config: RunConfig, opts: RunOptions = {}): Promise<RunResult> {
  const t0 = now();
  const out = opts.outDir ?? config.out;
  const dir = (k: keyof typeof STAGE_DIRS) => join(out, STAGE_DIRS[k]);
  await mkdir(out, { recursive: true });
  for (const k of Object.keys(STAGE_DIRS) as (keyof typeof STAGE_DIRS)[]) await rm(dir(k), { recursive: true, force: true });
  for (const f of ['report.html', 'report.json', RUN_JSON]) await rm(join(out, f), { force: true });

  const records = new Map<StageName, StageRecord>(STAGES.map((name) => [name, { name, status: 'not run', seconds: null, dir: null, detail: '' }]));
  let failure = null as RunFailure | null;
  let current = null as { name: StageName; start: number } | null;
  const emit = (event: RunProgress['event'], detail: string) => {
    if (!current) return;
    opts.onProgress?.({ stage: current.name, index: STAGES.indexOf(current.name), total: STAGES.length, event, detail, seconds: now() - current.start });
  };

  // What the stages produced (for later stages, the summary and the report).
  let teacher = null as (TeacherLike & { dispose?: () => Promise<void> }) | null;
  let teacherFacts = null as TeacherFacts | null;
  let student = null as PolicyModel | null;
  let bundleTeacher = config.teacher.file;
  let distillReport = null as DistillReport | null;
  let compressReport = null as CompressReport | null;
  let manifest = null as ArtifactsManifest | null;
  const bundles: (BundleFacts & { path: string; manifest: unknown })[] = [];
  let check = null as CheckReport | null;
  let checkReportFile = null as string | null;
  let reportFiles = null as { html: string; json: string } | null;

  /** Runs one stage; false when it failed (the run then stops). */
  const stage = async (name: StageName, subdir: string | null, body: () => Promise<string>): Promise<boolean> => {
    current = { name, start: now() };
    emit('start', '');
    try {
      const detail = await body();
      records.set(name, { name, status: 'ok', seconds: now() - current.start, dir: subdir, detail });
      emit('done', detail);
      return true;
    } catch (e) {
      const err = e as Error;
      const budgets = e instanceof BudgetsFailed;
      const message = err instanceof EdgeDistillError || budgets ? err.message : `internal error: ${err?.message ?? String(e)}`;
      records.set(name, { name, status: 'failed', seconds: now() - current.start, dir: subdir, detail: message });
      failure ??= { stage: name, message, error: budgets ? null : err, checkFailed: budgets || (e instanceof EdgeDistillError && e.code === 'PARITY') };
      emit('failed', message);
      return false;
    }
  };
  const skip = (name: StageName, why: string) => {
    current = { name, start: now() };
    records.set(name, { name, status: 'skipped', seconds: null, dir: null, detail: why });
    emit('skipped', why);
  };

  try {
    const ok =
      (await stage('teacher', null, async () => {
        teacher = await openTeacher(config.teacher.file, { ...(config.teacherOutput ? { teacherOutput: config.teacherOutput } : {}), ...(config.obsNorm ? { obsNorm: config.obsNorm } : {}) });
        const t = teacher as TeacherLike & { importable?: boolean };
        if (config.obsNorm) {
          // The bundle's teacher must see the same normalized observations: write it with the
          // normalization inside (only possible when the graph imports into the IR).
          if (!t.model) {
            throw new EdgeDistillError('UNSUPPORTED', 'with obsNorm the teacher must import into the IR, so the bundled teacher can carry the normalization', { file: config.teacher.file, field: 'obsNorm' });
          }
          bundleTeacher = join(dir('distill'), 'teacher.onnx');
          const env = makeEnv(config.env, config.envOptions ?? undefined);
          await writeOnnx(bundleTeacher, t.model, { observationSpace: env.observationSpace, actionSpace: env.actionSpace, docString: `teacher with obsNorm (from ${config.teacher.file})` });
        }
        teacherFacts = { file: config.teacher.file, params: teacherParams(t), bytes: statSync(config.teacher.file).size, outputKind: t.outputKind };
        return `${shown(config.teacher.file)}${config.teacher.kind === 'shipped' ? ' (shipped)' : ''}: ${t.outputKind}, ${teacherFacts.params ?? '?'} params, ${bytesText(teacherFacts.bytes)}${t.importable === false ? ', runs through onnxruntime only' : ''}`;
      })) &&
      (await stage('distill', STAGE_DIRS.distill, async () => {
        const d = config.distill;
        const r = await distill({
          teacher: teacher!,
          envId: config.env,
          envOptions: config.envOptions ?? undefined,
          hidden: d.student ?? undefined,
          activation: d.activation ?? undefined,
          loss: d.loss ?? undefined,
          tau: d.tau ?? undefined,
          seed: d.seed,
          maxSamples: d.maxSamples ?? undefined,
          maxSeconds: d.maxSeconds ?? undefined,
          episodes: d.episodes ?? undefined,
          target: d.target ?? undefined,
          onProgress: (p) =>
            emit('update', `round ${p.round}, ${p.samples} samples: ${p.agreement !== null ? `agreement ${pct(p.agreement, 2)}` : `action error ${p.actionError?.toFixed(4)}`}`),
        });
        await writeDistillArtifacts(dir('distill'), r.student, r.report);
        distillReport = r.report;
        student = r.student;
        const rep = r.report;
        const held = rep.agreement !== null ? `agreement ${pct(rep.agreement, 2)}` : `action error ${rep.actionError?.toFixed(4)}`;
        return `${rep.student.hidden.join('x')} student, ${rep.student.params} params: ${held}, retention ${pct(rep.returnRetention)}; ${rep.samples} samples, ${rep.targetsMet ? 'targets met' : `stopped by ${rep.stopReason}, targets missed`}`;
      })) &&
      (await stage('compress', STAGE_DIRS.compress, async () => {
        const k = config.compress;
        const d = distillReport!;
        const r = await compress({
          policy: student!,
          teacher: teacher!,
          envId: config.env,
          envOptions: config.envOptions ?? undefined,
          prune: k.prune,
          share: k.share,
          quantize: k.quantize,
          autoShrink: k.autoShrink,
          qat: k.qat,
          percentile: k.percentile ?? undefined,
          outputMargin: k.outputMargin ?? undefined,
          targets: k.targets ?? undefined,
          finetune: k.finetuneSteps !== null ? { steps: k.finetuneSteps } : undefined,
          episodes: d.teacher.return?.episodes,
          evalSeed: (d.teacher.return as { seedStart?: number } | null)?.seedStart,
          randomSeed: d.seed + 1,
          seed: k.seed,
          source: shown(dir('distill')),
          onProgress: (p) => emit('update', `${p.phase}: ${p.detail}`),
        });
        await writeCompressArtifacts(dir('compress'), r);
        compressReport = r.report;
        const res = r.report.result;
        const kept = r.report.steps.filter((s) => s.kept && s.step !== 'student').map((s) => s.label);
        const held = res.agreement !== null ? `agreement ${pct(res.agreement, 2)}` : `action error ${res.actionError?.toFixed(4)}`;
        return `${kept.join(', ') || 'no compression step'}: ${res.hidden.join('x')} ${res.semantics}, ${res.params} params (${pct(res.paramRatio, 2)} of the teacher); ${held} with the teacher, retention ${pct(res.returnRetention)}${res.targetsMet ? '' : ' (compress targets missed)'}`;
      })) &&
      (await stage('export', STAGE_DIRS.export, async () => {
        const x = config.export;
        try {
          manifest = await exportPolicy({
            policyDir: dir('compress'),
            formats: x.formats,
            outDir: dir('export'),
            // exportPolicy disposes the teacher it is given; ours is shared, so it gets a view.
            teacher: borrowed(teacher!),
            seed: x.seed,
            goldenRows: x.goldenRows ?? undefined,
            tolerances: x.minAgreement !== null ? { minAgreement: x.minAgreement } : undefined,
            onProgress: (t) => emit('update', t),
          });
        } catch (e) {
          // The gate refusing some formats is a verdict, not a crash: the artifacts that passed are
          // written and go on to the bundles; the refused ones are named in the summary and report.
          if (!(e instanceof ExportParityError) || !e.manifest.artifacts.some((a) => a.status === 'pass')) throw e;
          manifest = e.manifest;
        }
        // The export directory is what a bundle is built from: it needs policy.json (env, card).
        await copyFile(join(dir('compress'), 'policy.json'), join(dir('export'), 'policy.json'));
        const m = manifest as ArtifactsManifest;
        const passed = m.artifacts.filter((a) => a.status === 'pass');
        const notRun = m.artifacts.filter((a) => a.status === 'not run').map((a) => a.format);
        const refused = m.artifacts.filter((a) => a.status !== 'pass' && a.status !== 'not run').map((a) => a.format);
        return `${passed.length} of ${m.artifacts.length} artifacts passed the parity gate (golden set ${m.golden.rows} observations)${notRun.length ? `; not run: ${notRun.join(', ')}` : ''}${refused.length ? `; REFUSED by the gate, not bundled: ${refused.join(', ')} (see the parity table)` : ''}`;
      }));

    if (ok) {
      const bundled =
        config.devices.length === 0
          ? (skip('bundles', 'no devices in the config'), true)
          : await stage('bundles', STAGE_DIRS.bundles, async () => {
              for (const device of config.devices) {
                const r = await createBundle({
                  device,
                  policyDir: dir('export'),
                  teacher: bundleTeacher,
                  out: dir('bundles'),
                  name: config.name,
                  checkEpisodes: config.check.episodes,
                  onStep: (s, d) => emit('update', `${device}: ${s} ${shown(d)}`),
                });
                bundles.push({ device: r.device, file: shown(r.path), path: r.path, bytes: r.bytes, artifacts: r.artifacts.length, manifest: readBundleArchive(r.path).manifest });
              }
              return bundles.map((b) => `${b.device} ${bytesText(b.bytes)} (${b.artifacts} artifacts)`).join(', ');
            });
      if (bundled) {
        const hostBundle = config.host ? bundles.find((b) => b.device === config.host!.id) : undefined;
        if (!config.check.enabled || !hostBundle) {
          skip('check', config.notes.find((n) => n.includes('check')) ?? 'check.enabled is false');
        } else {
          await stage('check', join(STAGE_DIRS.check, hostBundle.device), async () => {
            const release = join(dir('check'), hostBundle.device);
            emit('update', `unpacking ${hostBundle.file}`);
            unpackBundle(hostBundle.path, release);
            emit('update', `edgedistill-device check on ${hostBundle.device}: ${hostBundle.artifacts} artifacts, ${config.check.minCalls} calls and ${config.check.episodes} episodes each`);
            const r = await runDeviceCheck(release, config.check);
            check = r.report;
            checkReportFile = r.reportFile;
            const rep = r.report;
            const line = rep.passed
              ? `${rep.budgets.length} budgets met on ${rep.device} (${rep.artifacts.length} artifacts, ${rep.wallSeconds.toFixed(1)} s)`
              : `${rep.failed.length} of ${rep.budgets.length} budgets not met on ${rep.device}: ${rep.failed.join(', ')}`;
            if (r.exitCode !== 0) throw new BudgetsFailed(line);
            return line;
          });
        }
      }
    }
  } finally {
    await teacher?.dispose?.().catch(() => undefined);
  }

  // The report, also after a failure: it shows how far the run got and why it stopped.
  const stagesSoFar = () => STAGES.map((n) => records.get(n)!);
  const outputs = () => ({ env: config.env, teacher: teacherFacts, distill: distillReport, compress: compressReport, artifacts: manifest, bundles: bundles.map(({ device, file, bytes, artifacts }) => ({ device, file, bytes, artifacts })), check });
  await stage('report', null, async () => {
    const provisional = buildSummary(outputs(), [...stagesSoFar().filter((s) => s.name !== 'report'), { name: 'report', status: 'ok', seconds: null, dir: null, detail: 'this page' }], now() - t0);
    reportFiles = await writeRunReport(
      {
        out,
        distillReport: distillReport ? join(dir('distill'), 'report.json') : null,
        compressReport: compressReport ? join(dir('compress'), 'compress-report.json') : null,
        artifacts: manifest ? join(dir('export'), 'artifacts.json') : null,
        bundles: bundles.map((b) => ({ file: b.path, manifest: b.manifest })),
        checkReport: checkReportFile,
        teacherFile: config.teacher.file,
        title: `edgedistill run: ${config.env}`,
      },
      provisional,
    );
    return `${shown(reportFiles.html)}${failure ? ` (the run failed at ${failure.stage}: the report shows how far it got)` : ''}`;
  });
  const summary = buildSummary(outputs(), stagesSoFar(), now() - t0);
  const runFile = join(out, RUN_JSON);
  await writeFileAtomic(runFile, `${JSON.stringify({ config: { ...config }, summary }, null, 2)}\n`);
  return {
    ok: failure === null,
    config,
    out,
    summary,
    failure,
    artifacts: manifest,
    files: { report: reportFiles, run: runFile, bundles: bundles.map((b) => b.path), checkReport: checkReportFile },
  };
}

/** A teacher without its dispose (for callees that dispose what they are given). */
function borrowed(t: TeacherLike): TeacherLike {
  const params = (t as { params?: unknown }).params;
  return { obsDim: t.obsDim, outDim: t.outDim, outputKind: t.outputKind, model: t.model, sha256: t.sha256, file: t.file, ...(params !== undefined ? { params } : {}), runBatch: (obs, batch) => t.runBatch(obs, batch) } as TeacherLike;
}

/** The device check ran and a budget failed (not an error: a verdict). */
class BudgetsFailed extends Error {}
