import type { Command } from 'commander';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { createStagesDisplay } from '../progress.js';
import { action, errRed, bold, dim, green, printJson, red } from '../shared.js';

interface RunFlags {
  out?: string;
  printConfig?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('run')
    .summary('The main job (npm start): a config -> distill, compress, export, bundles, on-device check, report.')
    .description(
      "The main job, from a config: teacher -> distill -> compress (prune, int8 with QAT fallback) -> export (every format behind its parity gate) -> a bundle per device -> the on-device check of this machine's bundle -> OUT/report.html and OUT/report.json; prints a summary with each stage's time. Each stage writes OUT/<stage>/; a failing stage stops the run and keeps what earlier stages wrote.",
    )
    .argument('[config]', 'run config, YAML or JSON (default: the built-in CartPole-v1 config, configs/cartpole-v1.yaml with out: out)')
    .option('--out <dir>', "output directory (default: the config's out, else ./out)")
    .option('--print-config', 'check the config, print it with every default filled in, and exit')
    .option('--json', 'print the summary (stages, times, figures, files) as JSON')
    .option('--quiet', 'print only the verdict line and errors')
    .addHelpText(
      'after',
      `
Config (schema: pipeline/src/run/config.schema.json; unknown keys are refused): env (required),
envOptions (a variant, e.g. {gravity: 12}: the names --env-option takes, checked; used by distill and compress),
teacher ("shipped" or a .onnx file, relative to the config), teacherOutput, obsNorm,
distill {student, loss, tau, seed, maxSamples, maxSeconds, episodes, target},
compress {prune {kind, fraction | sparsity}, share, quantize, autoShrink, qat, finetuneSteps, targets},
export {formats, goldenRows, minAgreement}, devices [profile ids, "host"],
check {enabled, episodes, minCalls, maxSeconds}, out. Examples for every shipped teacher: configs/*.yaml.

Exit codes: 0 every stage passed; 1 a check failed (the export parity gate, the device budgets);
2 bad config or input; 3 runtime or I/O failure; 130 interrupted.

Example:
  $ edgedistill run
  $ edgedistill run configs/pendulum-v1.yaml --out runs/pendulum --json`,
    )
    .action(
      action(async (config: string | undefined, opts: RunFlags) => {
        const { loadRunConfig, runPipeline, STAGES, figureLines, stageRows } = await import('../../run/index.js');
        const cfg = loadRunConfig(config ?? null, { out: opts.out });
        if (opts.printConfig) return opts.json ? printJson(cfg) : console.log(JSON.stringify(cfg, null, 2));
        const display = await createStagesDisplay(opts, STAGES.length);
        let r;
        try {
          r = await runPipeline(cfg, { onProgress: (p) => display.event(p) });
        } finally {
          display.stop();
        }
        const f = r.failure;
        const code = !f ? EXIT.ok : f.checkFailed ? EXIT.checkFailed : f.error instanceof EdgeDistillError ? exitCodeFor(f.error.code) : EXIT.failure;
        const s = r.summary;
        if (opts.json) {
          printJson({ ok: r.ok, exitCode: code, failure: f && { stage: f.stage, message: f.message, checkFailed: f.checkFailed, error: f.error instanceof EdgeDistillError ? f.error.toJSON() : f.error ? String(f.error) : null }, summary: s, files: r.files, config: cfg });
        } else if (opts.quiet) {
          console.log(r.ok ? `${green('PASSED')} ${cfg.env} in ${s.wallSeconds.toFixed(1)} s: ${r.files.report?.html ?? r.out}` : `${red('FAILED')} at ${f!.stage}: ${f!.message}`);
        } else {
          console.log(`${bold(`edgedistill run: ${cfg.env}`)} ${dim(`(${cfg.source}) -> ${r.out}`)}`);
          const rows = [['stage', 'status', 'time', 'what it did'], ...stageRows(s), ['total', '', `${s.wallSeconds.toFixed(1)} s`, '']];
          const w = [0, 1, 2].map((c) => Math.max(...rows.map((x) => x[c].length)));
          for (const [i, x] of rows.entries()) {
            const line = `${x[0].padEnd(w[0])}  ${x[1].padEnd(w[1])}  ${x[2].padStart(w[2])}  ${x[3]}`.trimEnd();
            console.log(i === 0 ? bold(line) : x[1] === 'failed' ? red(line) : x[1] === 'ok' || i === rows.length - 1 ? line : dim(line));
          }
          console.log('');
          for (const l of figureLines(s)) console.log(l);
          for (const n of cfg.notes) console.log(dim(`note: ${n}`));
          if (r.files.report) console.log(`report:    ${r.files.report.html} (data: ${r.files.report.json})`);
          if (f?.stage === 'export' && r.artifacts) {
            console.log('');
            (await import('./export.js')).printArtifactsTable(r.artifacts, `${r.out}/export`);
          }
        }
        if (f) {
          const why = f.error instanceof EdgeDistillError ? f.error.format() : f.error ? String(f.error.stack ?? f.error) : f.message;
          process.stderr.write(`${errRed(`run stopped at stage ${f.stage}:`)} ${why}\n`);
        }
        return code;
      }),
    );
}
