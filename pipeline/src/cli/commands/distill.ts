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
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('distill')
    .description('Distill a teacher (ONNX) into a small student (DAgger + KL/NLL/MSE, js-f32 trainer); writes OUT/student.onnx, OUT/policy.json and OUT/report.json.')
    .requiredOption('--teacher <file>', 'teacher .onnx (repeat to average several teachers with the same spaces)', (v: string, acc?: string[]) => [...(acc ?? []), v])
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
    .option('--json', 'print the report as JSON')
    .option('--quiet', 'print nothing but errors and the result')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill distill --teacher models/cartpole-v1/teacher.onnx --env CartPole-v1 --student 32,32 --out runs/cp-student --json\n  $ edgedistill distill --teacher models/cartpole-v1/teacher.onnx --env CartPole-v1 --out runs/cp-student --checkpoint-every 1 --resume`)
    .action(
      action(async (opts: DistillFlags) => {
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
        const spec = { format: 'distill {bar} {metric} | round {round} beta {beta} | {samples} samples | {duration_formatted}', total: 100, fields: { metric: '-', round: 0, beta: 1, samples: 0 } };
        const { student, report } = await withBar(opts, spec, (bar) => distill({
          teacher: opts.teacher.length === 1 ? opts.teacher[0] : opts.teacher,
          envId: opts.env ?? null,
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

