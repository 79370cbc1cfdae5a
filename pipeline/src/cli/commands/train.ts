import type { Command } from 'commander';
import { EXIT_HELP } from '../exit-codes.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { progressEnabled } from '../progress.js';
import { action, printJson, bold, isTTY, parseIntList, parseNumber } from '../shared.js';

interface TrainFlags {
  env: string;
  algo: string;
  steps?: string;
  seed: string;
  hidden: string;
  out?: string;
  hp: string[];
  evalEpisodes: string;
  checkpointEvery: string;
  backend?: string;
  evalEvery: string;
  selectEpisodes: string;
  envOption: string[];
  distillInto?: string;
  distillEvery?: string;
  distillSamples?: string;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train a teacher policy (PPO, DQN or SAC on tfjs), evaluate it over deterministic episodes and export OUT/teacher.onnx + OUT/card.json.')
    .requiredOption('--env <id>', 'environment id, e.g. CartPole-v1')
    .requiredOption('--algo <name>', 'ppo | dqn | sac')
    .option('--steps <n>', 'total environment steps (default: the preset for env and algorithm)')
    .option('--seed <n>', 'seed of weights, sampling and env resets', '1')
    .option('--hidden <sizes>', 'hidden layer sizes of the shipped network', '256,256')
    .option('--out <dir>', 'output directory (policy.json checkpoints, metrics.jsonl, teacher.onnx, card.json)')
    .option('--hp <key=value>', 'override a hyper-parameter (repeatable), e.g. --hp learningRate=3e-4', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--eval-episodes <n>', 'deterministic evaluation episodes after training (reset seeds 0..n-1)', '100')
    .option('--checkpoint-every <n>', 'write OUT/policy.json every n env steps', '10000')
    .option('--eval-every <n>', 'model selection: evaluate every n env steps on held-out reset seeds (10000+) and ship the best (0: ship the final policy)', '0')
    .option('--select-episodes <n>', 'episodes per model-selection evaluation', '20')
    .option('--env-option <key=value>', 'environment option (repeatable), e.g. --env-option gravity=12 --env-option length=0.7 (see `edgedistill envs`)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--distill-into <sizes>', 'online distillation: also distill a student with these hidden sizes (e.g. 32,32) from the teacher at intervals and at the end; writes OUT/student/')
    .option('--distill-every <n>', 'env steps between online distillation intervals (default: a fifth of the run)')
    .option('--distill-samples <n>', 'training samples (gradient steps x batch) per interval', '51200')
    .option('--backend <name>', 'force a tfjs backend: tensorflow | wasm | cpu (default: fastest that loads)')
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print nothing but errors and the result')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill train --env CartPole-v1 --algo ppo --steps 100000 --seed 1 --out runs/cartpole\n  $ edgedistill train --env CartPole-v1 --env-option gravity=12 --algo ppo --distill-into 32,32 --out runs/cp-g12`)
    .action(
      action(async (opts: TrainFlags) => {
        const { trainTeacher, parseHyperOverrides, parseEnvOptions, ALGOS } = await import('../../train/index.js');
        const algo = opts.algo as (typeof ALGOS)[number];
        if (!ALGOS.includes(algo)) throw new EdgeDistillError('BAD_ARGUMENT', `unknown algorithm "${opts.algo}"`, { field: '--algo', suggestion: `one of ${ALGOS.join(', ')}` });
        const backend = opts.backend as 'tensorflow' | 'wasm' | 'cpu' | undefined;
        if (backend && !['tensorflow', 'wasm', 'cpu'].includes(backend)) throw new EdgeDistillError('BAD_ARGUMENT', `unknown backend "${backend}"`, { field: '--backend' });
        const chatty = !opts.quiet && !opts.json;
        const positive = (flag: string, v: string | undefined) => {
          if (v === undefined) return undefined;
          const n = parseNumber(flag, v);
          if (!Number.isInteger(n) || n < 1) throw new EdgeDistillError('BAD_ARGUMENT', `${flag} takes a whole number >= 1, got ${v}`, { field: flag });
          return n;
        };
        if (!opts.distillInto && (opts.distillEvery !== undefined)) throw new EdgeDistillError('BAD_ARGUMENT', '--distill-every needs --distill-into', { field: '--distill-every' });
        const distillInto = opts.distillInto
          ? { hidden: parseIntList('--distill-into', opts.distillInto), every: positive('--distill-every', opts.distillEvery), samples: positive('--distill-samples', opts.distillSamples) }
          : null;
        const res = await trainTeacher({
          envId: opts.env,
          algo,
          seed: parseNumber('--seed', opts.seed),
          steps: opts.steps === undefined ? undefined : parseIntList('--steps', opts.steps)[0],
          hidden: parseIntList('--hidden', opts.hidden),
          outDir: opts.out ?? null,
          hp: parseHyperOverrides(algo, opts.env, opts.hp),
          evalEpisodes: Number(parseNumber('--eval-episodes', opts.evalEpisodes)),
          checkpointEvery: parseNumber('--checkpoint-every', opts.checkpointEvery),
          backend,
          evalEvery: parseNumber('--eval-every', opts.evalEvery),
          selectEpisodes: parseNumber('--select-episodes', opts.selectEpisodes),
          envOptions: parseEnvOptions(opts.env, opts.envOption),
          distillInto,
          // The bar is drawn by the trainer (pipeline/src/train/run.ts); the same rule decides whether.
          progress: progressEnabled(opts),
          log: chatty && !isTTY() ? (l) => process.stderr.write(`${l}\n`) : null,
        });
        const student = res.student
          ? { dir: res.student.dir, agreement: res.student.report.agreement, actionError: res.student.report.actionError, returnRetention: res.student.report.returnRetention, return: res.student.report.student.return }
          : null;
        if (opts.json) return printJson({ ...res.card, files: res.files, ...(student ? { student } : {}) });
        const e = res.evaluation;
        console.log(
          `${bold(opts.env)} ${algo}: ${res.card.envSteps} steps in ${res.card.wallTimeSec} s on ${res.card.backend}, ` +
            `${res.card.parameterCount} parameters` +
            (e ? `; deterministic return over ${e.episodes} episodes: mean ${e.mean.toFixed(2)} (std ${e.std.toFixed(2)}, min ${e.min.toFixed(2)}, max ${e.max.toFixed(2)})` : ''),
        );
        const od = res.card.onlineDistill as import('../../distill/online.js').OnlineSummary | undefined;
        if (od && !opts.quiet) {
          const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
          const num = (v: number | null) => (v === null ? '-' : v.toFixed(1));
          console.log(`online distillation into ${od.hidden.join('x')}: ${od.intervals} intervals, ${od.samplesPerInterval} samples each, ${od.seconds.toFixed(1)} s`);
          console.log('  interval  step      teacher  student  agreement  vs final teacher');
          for (const h of od.history) {
            const agree = h.agreement !== null ? pct(h.agreement) : (h.actionError?.toFixed(4) ?? '-');
            const fin = h.agreementWithFinalTeacher !== null ? pct(h.agreementWithFinalTeacher) : (h.actionErrorVsFinalTeacher?.toFixed(4) ?? '-');
            console.log(`  ${String(h.interval).padEnd(8)}  ${String(h.step).padEnd(8)}  ${num(h.teacherReturn).padStart(7)}  ${num(h.studentReturn).padStart(7)}  ${agree.padStart(9)}  ${fin.padStart(16)}${h.final ? '  (final)' : ''}`);
          }
        }
        for (const f of res.files) console.log(`  wrote ${f}`);
      }),
    );
}
