import type { Command } from 'commander';
import { EXIT_HELP } from '../exit-codes.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { withBar } from '../progress.js';
import { action, printJson, bold, parseIntList, parseNumber } from '../shared.js';

interface DistillFlags {
  teacher: string[];
  env?: string;
  student?: string;
  out: string;
  seed: string;
  tau?: string;
  loss?: string;
  observations?: string;
  maxSamples?: string;
  checkpointEvery?: string;
  resume?: boolean;
  initFrom?: string;
  envOption: string[];
  finetune?: string;
  steps?: string;
  finetuneLr?: string;
  warmupRollouts?: string;
  evalEvery?: string;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('distill')
    .description('Distill a teacher (ONNX) into a small student (DAgger + KL/NLL/MSE, wasm SIMD trainer with a plain-JS fallback); writes OUT/student.onnx, OUT/policy.json and OUT/report.json.')
    .option('--teacher <file>', 'teacher .onnx (repeat to average several teachers with the same spaces); needed unless --finetune ppo', (v: string, acc?: string[]) => [...(acc ?? []), v])
    .option('--env <id>', 'environment id, e.g. CartPole-v1 (needed unless --observations)')
    .option('--student <sizes>', 'student hidden sizes (default: 32,32 for the built-in envs, 64,64 otherwise; smaller when needed to stay <= 10% of the teacher parameters)')
    .option('--out <dir>', 'output directory', 'distilled')
    .option('--seed <n>', 'seed of weights, data and minibatches', '0')
    .option('--tau <t>', 'teacher softmax temperature for kl (default 0.01 for q-values, 1 for logits)')
    .option('--loss <name>', 'kl | nll | mse (default kl; nll for action-only teachers; mse for continuous)')
    .option('--observations <file>', 'offline: distill on recorded states (.jsonl, .csv or .npy) instead of rollouts')
    .option('--max-samples <n>', 'training budget in samples (gradient steps x batch)')
    .option('--checkpoint-every <rounds>', 'write OUT/checkpoint.json (atomically) at the start of every N-th DAgger round')
    .option('--resume', 'continue the run OUT/checkpoint.json was written by (same teacher, env, student and seed)')
    .option('--env-option <key=value>', 'environment option (repeatable), e.g. --env-option gravity=12: distill on a variant', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--init-from <dir>', 'transfer: start from the student in DIR (its policy.json) instead of random weights, and compare with a student trained from scratch on the same budget (report.json "transfer")')
    .option('--finetune <method>', 'with --init-from and no --teacher: fine-tune the student itself on the env; only "ppo"')
    .option('--steps <n>', 'env steps of PPO fine-tuning (each of the two runs)', '50000')
    .option('--finetune-lr <lr>', 'PPO fine-tuning: actor learning rate (default: a tenth of the env preset\'s; the fresh critic keeps the preset\'s)')
    .option('--warmup-rollouts <n>', 'PPO fine-tuning: first N rollouts train only the fresh critic, actor frozen (default 10, at most a quarter of the rollouts)')
    .option('--eval-every <steps>', 'PPO fine-tuning: evaluate a checkpoint every N env steps on 20 selection seeds (10000..10019) and keep the best, the starting student included (default: a tenth of --steps); the from-scratch run uses the same rule')
    .option('--json', 'print the report as JSON')
    .option('--quiet', 'print nothing but errors and the result')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill distill --teacher models/cartpole-v1/teacher.onnx --env CartPole-v1 --student 32,32 --out runs/cp-student --json\n  $ edgedistill distill --teacher models/cartpole-v1/teacher.onnx --env CartPole-v1 --out runs/cp-student --checkpoint-every 1 --resume\n  $ edgedistill distill --init-from runs/cp-student --teacher runs/cp-g12/teacher.onnx --env CartPole-v1 --env-option gravity=12 --out runs/cp-g12-student\n  $ edgedistill distill --init-from runs/cp-student --finetune ppo --steps 20000 --env CartPole-v1 --env-option length=0.7 --out runs/cp-l07-student`)
    .action(
      action(async (opts: DistillFlags) => {
        if (opts.initFrom !== undefined || opts.finetune !== undefined) return transferCommand(opts);
        if (!opts.teacher?.length) throw new EdgeDistillError('BAD_ARGUMENT', 'give a teacher (--teacher FILE)', { field: '--teacher', suggestion: 'or adapt an existing student with --init-from DIR --finetune ppo' });
        const { distill, writeDistillArtifacts, readDistillCheckpoint, CHECKPOINT_FILE } = await import('../../distill/index.js');
        const { join } = await import('node:path');
        const checkpointFile = join(opts.out, CHECKPOINT_FILE);
        const every = opts.checkpointEvery === undefined ? undefined : parseNumber('--checkpoint-every', opts.checkpointEvery);
        if (every !== undefined && !(Number.isInteger(every) && every >= 1)) throw new EdgeDistillError('BAD_ARGUMENT', `--checkpoint-every takes a whole number of rounds >= 1, got ${opts.checkpointEvery}`, { field: '--checkpoint-every' });
        const resume = opts.resume ? await readDistillCheckpoint(checkpointFile) : null;
        const loss = opts.loss as 'kl' | 'nll' | 'mse' | undefined;
        if (loss !== undefined && !['kl', 'nll', 'mse'].includes(loss)) {
          throw new EdgeDistillError('BAD_ARGUMENT', `unknown loss "${opts.loss}"`, { field: '--loss', suggestion: 'one of kl, nll, mse' });
        }
        // The bar climbs with the held-out agreement (or falls with the action error).
        const envOptions = await envOptionsOf(opts);
        const spec = { format: 'distill {bar} {metric} | round {round} beta {beta} | {samples} samples | {duration_formatted}', total: 100, fields: { metric: '-', round: 0, beta: 1, samples: 0 } };
        const { student, report } = await withBar(opts, spec, (bar) => distill({
          teacher: opts.teacher.length === 1 ? opts.teacher[0] : opts.teacher,
          envId: opts.env ?? null,
          envOptions,
          observations: opts.observations ?? null,
          hidden: opts.student ? parseIntList('--student', opts.student) : undefined,
          seed: parseNumber('--seed', opts.seed),
          tau: opts.tau === undefined ? undefined : parseNumber('--tau', opts.tau),
          loss,
          maxSamples: opts.maxSamples === undefined ? undefined : parseNumber('--max-samples', opts.maxSamples),
          checkpoint: every !== undefined ? { file: checkpointFile, every } : undefined,
          resume,
          onProgress: bar.active
            ? (p) =>
                bar.update(Math.min(100, p.agreement !== null ? p.agreement * 100 : Math.max(0, 100 - (p.actionError ?? 1) * 100)), {
                  metric: p.agreement !== null ? `agreement ${(p.agreement * 100).toFixed(2)}%` : `action error ${p.actionError?.toFixed(4)}`,
                  round: p.round,
                  beta: p.beta.toFixed(3),
                  samples: p.samples,
                })
            : undefined,
        }));
        const files = await writeDistillArtifacts(opts.out, student, report);
        if (opts.json) return printJson(report);
        if (opts.quiet) return;
        const held = report.agreement !== null ? `agreement ${(report.agreement * 100).toFixed(2)}%` : `action error ${report.actionError?.toFixed(4)}`;
        const ret = report.returnRetention !== null ? `, return retention ${(report.returnRetention * 100).toFixed(1)}% (student ${report.student.return?.mean.toFixed(1)}, teacher ${report.teacher.return?.mean.toFixed(1)}, random ${report.random.return?.mean.toFixed(1)})` : '';
        console.log(`${bold(report.env ?? 'offline')} student ${report.student.hidden.join('x')} (${report.student.params} params): ${held}${ret}; ${report.samples} samples in ${report.wallSeconds.toFixed(1)} s on ${report.backend}; ${report.targetsMet ? 'targets met' : `stopped: ${report.stopReason}`}`);
        if (report.resumedFrom) console.log(`  resumed from round ${report.resumedFrom.round} (${report.resumedFrom.samples} samples) of ${checkpointFile}`);
        for (const f of [files.onnx, files.policy, files.report]) console.log(`  wrote ${f}`);
      }),
    );
}


async function envOptionsOf(opts: DistillFlags) {
  if (opts.envOption.length === 0) return undefined;
  if (!opts.env) throw new EdgeDistillError('BAD_ARGUMENT', '--env-option needs --env', { field: '--env-option' });
  const { parseEnvOptions } = await import('../../train/env-options.js');
  return parseEnvOptions(opts.env, opts.envOption);
}

/** `--init-from DIR`: adapt a student to a (variant) env, and the same budget from scratch. */
async function transferCommand(opts: DistillFlags): Promise<void> {
  const { transferStudent, writeDistillArtifacts } = await import('../../distill/index.js');
  const { describeEnvOptions } = await import('../../train/env-options.js');
  const { join } = await import('node:path');
  if (!opts.initFrom) throw new EdgeDistillError('BAD_ARGUMENT', '--finetune needs --init-from DIR (the student to fine-tune)', { field: '--finetune' });
  if (!opts.env) throw new EdgeDistillError('BAD_ARGUMENT', '--init-from needs --env (the variant is --env with --env-option)', { field: '--env' });
  for (const [flag, v] of [['--observations', opts.observations], ['--resume', opts.resume], ['--checkpoint-every', opts.checkpointEvery]] as const) {
    if (v !== undefined) throw new EdgeDistillError('BAD_ARGUMENT', `${flag} does not combine with --init-from`, { field: flag });
  }
  if (opts.finetune !== undefined && opts.finetune !== 'ppo') throw new EdgeDistillError('BAD_ARGUMENT', `unknown fine-tuning method "${opts.finetune}"`, { field: '--finetune', suggestion: 'ppo' });
  const teachers = opts.teacher ?? [];
  if (opts.finetune && teachers.length) throw new EdgeDistillError('BAD_ARGUMENT', '--finetune ppo adapts the student without a teacher; drop --teacher (or --finetune)', { field: '--finetune' });
  if (!opts.finetune && teachers.length !== 1) {
    throw new EdgeDistillError('BAD_ARGUMENT', teachers.length ? '--init-from takes one --teacher' : '--init-from needs the variant\'s --teacher FILE, or --finetune ppo', { field: '--teacher' });
  }
  if (opts.student) throw new EdgeDistillError('BAD_ARGUMENT', 'a student started from --init-from keeps its sizes; drop --student', { field: '--student' });
  if (!opts.finetune) {
    for (const [flag, v] of [['--finetune-lr', opts.finetuneLr], ['--warmup-rollouts', opts.warmupRollouts], ['--eval-every', opts.evalEvery]] as const) {
      if (v !== undefined) throw new EdgeDistillError('BAD_ARGUMENT', `${flag} applies to --finetune ppo only`, { field: flag });
    }
  }
  const envOptions = await envOptionsOf(opts);
  const seed = parseNumber('--seed', opts.seed);
  const steps = parseNumber('--steps', opts.steps ?? '50000');
  const spec = { format: 'transfer {phase} {bar} {metric} | {samples} | {duration_formatted}', total: 100, fields: { phase: 'from-init', metric: '-', samples: '' } };
  const { student, scratch, report, scratchReport } = await withBar(opts, spec, (bar) =>
    transferStudent({
      initFrom: opts.initFrom as string,
      envId: opts.env as string,
      envOptions,
      seed,
      source: opts.finetune
        ? {
            kind: 'ppo',
            steps,
            finetuneLr: opts.finetuneLr === undefined ? undefined : parseNumber('--finetune-lr', opts.finetuneLr),
            warmupRollouts: opts.warmupRollouts === undefined ? undefined : parseNumber('--warmup-rollouts', opts.warmupRollouts),
            evalEvery: opts.evalEvery === undefined ? undefined : parseNumber('--eval-every', opts.evalEvery),
          }
        : { kind: 'teacher', teacher: teachers[0] },
      maxSamples: opts.maxSamples === undefined ? undefined : parseNumber('--max-samples', opts.maxSamples),
      log: bar.active ? (l) => bar.log(l) : null,
      onProgress: bar.active
        ? (phase, p) => {
            if ('steps' in p) return bar.update(phase === 'from-init' ? 50 : 100, { phase, metric: 'ppo', samples: `${p.steps} env steps` });
            bar.update(Math.min(100, p.agreement !== null ? p.agreement * 100 : Math.max(0, 100 - (p.actionError ?? 1) * 100)), {
              phase,
              metric: p.agreement !== null ? `agreement ${(p.agreement * 100).toFixed(2)}%` : `action error ${p.actionError?.toFixed(4)}`,
              samples: `${p.samples} samples`,
            });
          }
        : undefined,
    }),
  );
  const files = await writeDistillArtifacts(opts.out, student, report);
  const scratchFiles = await writeDistillArtifacts(join(opts.out, 'from-scratch'), scratch, scratchReport);
  if (opts.json) return printJson(report);
  if (opts.quiet) return;
  const t = report.transfer;
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
  const ret = (r: { mean: number; std: number } | null | undefined) => (r ? `${r.mean.toFixed(1)} ± ${r.std.toFixed(1)}` : '-');
  const budget = t.budget.samples !== null ? `${t.budget.samples} samples` : `${t.budget.envSteps} env steps`;
  console.log(`${bold(t.env)} (${describeEnvOptions(t.envOptions)}) from ${t.initFrom}, ${t.source === 'teacher' ? `teacher ${t.teacher}` : 'PPO fine-tuning'}, budget ${budget}, seed ${t.budget.seed}, ${t.budget.episodes} episodes`);
  const rows: string[][] = [['', 'return', 'agreement', 'retention', 'samples to target', 'seconds']];
  rows.push(['at start', ret(t.atStart.return), pct(t.atStart.agreement), '-', '-', '-']);
  for (const [name, s] of [['from init', t.fromInit], ['from scratch', t.fromScratch]] as const) {
    rows.push([name, ret(s.return), s.agreement !== null ? pct(s.agreement) : s.actionError !== null ? s.actionError.toFixed(4) : '-', pct(s.returnRetention), s.samplesToTarget === null ? (s.targetsMet === false ? 'not met' : '-') : String(s.samplesToTarget), s.wallSeconds.toFixed(1)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(`  ${r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')}`);
  for (const [name, s] of [['from init', t.fromInit], ['from scratch', t.fromScratch]] as const) {
    const sel = s.selection;
    if (!sel) continue;
    const curve = sel.curve.map((c) => `${c.steps}: ${c.return.toFixed(1)}`).join(', ');
    console.log(`  ${name}: checkpoints (env steps: mean return on seeds ${sel.seedStart}..${sel.seedStart + sel.episodes - 1}) ${curve}; kept ${sel.kept.start ? 'the start' : `step ${sel.kept.steps}`} (${sel.kept.return.toFixed(1)})`);
  }
  if (t.finetune) {
    const f = t.finetune.fromInit;
    console.log(`  fine-tuning: actor learning rate ${f.actorLearningRate}, critic ${f.criticLearningRate}, ${f.warmupRollouts} critic warm-up rollouts, clip ${f.clipCoef}`);
  }
  console.log(`  verdict: ${t.verdict} (${t.reason})`);
  for (const f of [files.onnx, files.policy, files.report, scratchFiles.policy]) console.log(`  wrote ${f}`);
}
