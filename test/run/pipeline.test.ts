/**
 * runPipeline end to end on CartPole with the shipped teacher and small budgets: every stage writes
 * its folder, this machine's bundle is unpacked and checked by its own device CLI in a separate
 * Node process, and report.html / report.json hold the run with its stage times. A failing stage
 * stops the run, names the stage, keeps what earlier stages wrote and still writes the report.
 * (int8 formats are left out here: on CartPole they miss the 0.99 parity gate today, which is the
 * compress stage's open problem; this suite tests the orchestration.)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { readBundleArchive } from '../../pipeline/src/bundle/index.js';
import { hostProfile, resolveConfig, runPipeline, STAGES, type RunProgress, type RunResult } from '../../pipeline/src/run/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'run-e2e-'));
const host = hostProfile();

describe('runPipeline on CartPole (small budgets)', () => {
  const out = join(tmp, 'ok');
  const events: RunProgress[] = [];
  let r: RunResult;

  beforeAll(async () => {
    const config = resolveConfig(
      {
        env: 'CartPole-v1',
        teacher: 'shipped',
        distill: { student: [32, 32], maxSamples: 600_000, episodes: 20 },
        compress: { prune: { kind: 'structured', fraction: 0.5 }, quantize: 'none', finetuneSteps: 600 },
        export: { formats: ['onnx', 'js'], goldenRows: 200 },
        devices: ['host'],
        check: { episodes: 2, minCalls: 500, maxSeconds: 1 },
      },
      { out },
    );
    r = await runPipeline(config, { onProgress: (p) => events.push(p) });
  }, 240_000);

  it('runs on a machine with a device profile (x64-linux here)', () => {
    expect(host?.id).toBe(process.arch === 'x64' ? 'x64-linux' : host?.id);
    expect(host).not.toBeNull();
  });

  it('runs every stage in order, each in its own folder, with its time', () => {
    const s = r.summary.stages;
    expect(s.map((x) => x.name)).toEqual([...STAGES]);
    // The host check may miss a latency budget on a loaded machine; every other stage passes.
    for (const x of s.filter((x) => x.name !== 'check')) expect(`${x.name}: ${x.status}`).toBe(`${x.name}: ok`);
    for (const x of s) expect(x.seconds).toBeGreaterThan(0);
    expect(s.map((x) => x.dir)).toEqual([null, 'distill', 'compress', 'export', 'bundles', `check/${host!.id}`, null]);
    for (const f of ['distill/student.onnx', 'distill/policy.json', 'distill/report.json', 'compress/policy.json', 'compress/compress-report.json', 'export/artifacts.json', 'export/policy.onnx', 'export/policy.mjs', 'export/golden.json', 'export/policy.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // One progress stream: start and an end event for each stage, in order.
    const ends = events.filter((e) => e.event !== 'start' && e.event !== 'update').map((e) => e.stage);
    expect(ends).toEqual([...STAGES]);
    expect(events.filter((e) => e.event === 'start').map((e) => e.stage)).toEqual([...STAGES]);
  });

  it('distills and prunes: the student is far smaller than the teacher and still agrees with it', () => {
    const z = r.summary.size;
    expect(z.teacherParams).toBe(67_586);
    expect(z.studentHidden).toEqual([16, 16]);
    expect(z.paramShare!).toBeLessThan(0.1);
    expect(r.summary.agreement.distill!).toBeGreaterThanOrEqual(0.95);
    expect(z.artifacts.map((a) => `${a.format}:${a.status}`)).toEqual(['onnx:pass', 'js:pass']);
  });

  it("checks this machine's bundle with the bundled device CLI, unpacked in out/check", () => {
    const [bundle] = readdirSync(join(out, 'bundles'));
    expect(bundle).toMatch(new RegExp(`^cartpole-v1-${host!.id}-[0-9a-f]{16}\\.tar\\.gz$`));
    const archive = readBundleArchive(join(out, 'bundles', bundle));
    const release = join(out, 'check', host!.id);
    expect(existsSync(join(release, 'runtime/edgedistill-device.mjs'))).toBe(true);
    expect(r.files.checkReport).toBe(join(release, 'check-report.json'));
    const report = JSON.parse(readFileSync(r.files.checkReport!, 'utf8'));
    expect(report.device).toBe(host!.id);
    expect(report.bundle.manifestSha256).toBe(archive.manifestSha256);
    expect(report.bundle.filesVerified).toBe(Object.keys(archive.manifest.files).length);
    expect(report.settings).toMatchObject({ episodes: 2, minCalls: 500 });
    expect(report.artifacts.map((a: { name: string }) => a.name).sort()).toEqual(['student-js', 'student-onnx', 'teacher']);
    // Agreement, retention and memory budgets hold; only latency may suffer from a busy machine.
    const failed = report.budgets.filter((b: { passed: boolean }) => !b.passed).map((b: { budget: string }) => b.budget);
    expect(failed.filter((b: string) => b !== 'controlPeriodUs')).toEqual([]);
    expect(r.summary.check).toEqual({ device: host!.id, passed: report.passed, budgets: report.budgets.length, failed: report.failed });
    const check = r.summary.stages.find((x) => x.name === 'check')!;
    expect(check.status).toBe(report.passed ? 'ok' : 'failed');
    expect(r.ok).toBe(report.passed);
    if (!report.passed) expect(r.failure).toMatchObject({ stage: 'check', checkFailed: true, error: null });
  });

  it('summarizes size, agreement, retention and the latency ratio from the stage reports', () => {
    const s = r.summary;
    expect(s.retention.device?.min).toBeGreaterThanOrEqual(0.9);
    expect(s.agreement.device?.device).toBe(host!.id);
    const l = s.latency!;
    expect(l.device).toBe(host!.id);
    expect(l.ratio).toBeCloseTo(l.teacherP50Us / l.studentP50Us, 10);
    expect(['student-js', 'student-onnx']).toContain(l.student);
  });

  it('writes report.html and report.json (the report with the run and its stage times)', () => {
    const data = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(data.schema).toBe('edgedistill.report/1');
    expect(data.env).toBe('CartPole-v1');
    expect(data.checks.map((c: { device: string }) => c.device)).toEqual([host!.id]);
    expect(data.bundles.map((b: { device: string }) => b.device)).toEqual([host!.id]);
    expect(data.artifacts.map((a: { format: string }) => a.format)).toEqual(['onnx', 'js']);
    expect(data.run.stages.map((x: { name: string }) => x.name)).toEqual([...STAGES]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<section class="panel" id="run">');
    for (const name of STAGES) expect(html).toContain(`<td>${name}</td>`);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).summary.stages).toHaveLength(STAGES.length);
  });
});

describe('runPipeline when a stage fails', () => {
  const out = join(tmp, 'fail');
  let r: RunResult;

  beforeAll(async () => {
    // A device profile file that is not a valid profile: the bundles stage fails.
    const profile = join(tmp, 'broken-profile.json');
    writeFileSync(profile, JSON.stringify({ id: 'broken-profile', arch: 'x64' }));
    const config = resolveConfig(
      {
        env: 'CartPole-v1',
        distill: { student: [8], maxSamples: 20_000, episodes: 5 },
        compress: { prune: null, quantize: 'none' },
        export: { formats: ['js'], goldenRows: 64 },
        devices: [profile],
      },
      { out },
    );
    r = await runPipeline(config);
  }, 240_000);

  it('stops at that stage, names it and says why', () => {
    expect(r.ok).toBe(false);
    expect(r.failure?.stage).toBe('bundles');
    expect(r.failure?.checkFailed).toBe(false);
    expect(r.failure?.error).toBeInstanceOf(EdgeDistillError);
    expect((r.failure!.error as EdgeDistillError).code).toBe('BAD_CONFIG');
    expect(r.failure!.message).toBe((r.failure!.error as EdgeDistillError).message);
    expect(r.summary.stages.map((x) => `${x.name}:${x.status}`)).toEqual(['teacher:ok', 'distill:ok', 'compress:ok', 'export:ok', 'bundles:failed', 'check:not run', 'report:ok']);
    expect(r.summary.failedStage).toBe('bundles');
  });

  it('keeps what the earlier stages wrote and still writes the report', () => {
    for (const f of ['distill/policy.json', 'compress/compress-report.json', 'export/artifacts.json', 'export/policy.mjs']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(existsSync(join(out, 'check'))).toBe(false);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('FAILED at bundles');
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).run.failedStage).toBe('bundles');
  });
});
