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
    .option('--backend <name>', 'force a tfjs backend: tensorflow | wasm | cpu (default: fastest that loads)')
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print nothing but errors and the result')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill train --env CartPole-v1 --algo ppo --steps 100000 --seed 1 --out runs/cartpole`)
    .action(
      action(async (opts: TrainFlags) => {
        const { trainTeacher, parseHyperOverrides, ALGOS } = await import('../../train/index.js');
        const algo = opts.algo as (typeof ALGOS)[number];
        if (!ALGOS.includes(algo)) throw new EdgeDistillError('BAD_ARGUMENT', `unknown algorithm "${opts.algo}"`, { field: '--algo', suggestion: `one of ${ALGOS.join(', ')}` });
        const backend = opts.backend as 'tensorflow' | 'wasm' | 'cpu' | undefined;
        if (backend && !['tensorflow', 'wasm', 'cpu'].includes(backend)) throw new EdgeDistillError('BAD_ARGUMENT', `unknown backend "${backend}"`, { field: '--backend' });
        const chatty = !opts.quiet && !opts.json;
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
          // The bar is drawn by the trainer (pipeline/src/train/run.ts); the same rule decides whether.
          progress: progressEnabled(opts),
          log: chatty && !isTTY() ? (l) => process.stderr.write(`${l}\n`) : null,
        });
        if (opts.json) return printJson({ ...res.card, files: res.files });
        const e = res.evaluation;
        console.log(
          `${bold(opts.env)} ${algo}: ${res.card.envSteps} steps in ${res.card.wallTimeSec} s on ${res.card.backend}, ` +
            `${res.card.parameterCount} parameters` +
            (e ? `; deterministic return over ${e.episodes} episodes: mean ${e.mean.toFixed(2)} (std ${e.std.toFixed(2)}, min ${e.min.toFixed(2)}, max ${e.max.toFixed(2)})` : ''),
        );
        for (const f of res.files) console.log(`  wrote ${f}`);
      }),
    );
}
