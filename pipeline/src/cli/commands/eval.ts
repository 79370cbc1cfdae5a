import type { Command } from 'commander';
import { EXIT_HELP } from '../exit-codes.js';
import { withBar } from '../progress.js';
import { action, bold, parseNumber, printJson } from '../shared.js';
import { parseTeacherOutput } from './inspect.js';

interface EvalFlags {
  policy: string;
  env?: string;
  episodes: string;
  seed: string;
  teacherOutput?: string;
  envOption: string[];
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('Deterministic return of a policy (ONNX file, policy.json, or a directory with policy.json/student.onnx): episode i resets with seed S+i; all episodes run batched.')
    .requiredOption('--policy <file>', '.onnx, policy.json, or a directory holding policy.json or student.onnx')
    .option('--env <id>', 'environment id (default: the one stored in the policy)')
    .option('--episodes <n>', 'number of episodes', '100')
    .option('--seed <n>', 'reset seed of the first episode', '0')
    .option('--env-option <key=value>', 'environment option (repeatable), e.g. --env-option gravity=12: evaluate on a variant; an unknown key or bad value exits 2 naming it', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--teacher-output <kind>', 'what an ONNX output means when its name does not say: logits | q_values | action')
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print only the mean return')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill eval --policy out/student.onnx --env CartPole-v1 --episodes 100 --seed 0 --json\n  $ edgedistill eval --policy out/distill --env CartPole-v1 --env-option length=1.5`)
    .action(
      action(async (opts: EvalFlags) => {
        const { evaluatePolicyFile } = await import('../../eval/evaluate.js');
        const { parseEnvOptionPairs, describeEnvOptions } = await import('../../train/env-options.js');
        const envOptions = parseEnvOptionPairs(opts.envOption);
        const episodes = parseNumber('--episodes', opts.episodes);
        const r = await withBar(opts, { format: 'eval {bar} {value}/{total} episodes | {duration_formatted}', total: episodes }, (bar) =>
          evaluatePolicyFile(opts.policy, {
            env: opts.env,
            envOptions,
            episodes,
            seed: parseNumber('--seed', opts.seed),
            teacherOutput: parseTeacherOutput(opts.teacherOutput),
            onProgress: bar.active ? (done) => bar.update(done) : undefined,
          }),
        );
        if (opts.json) return printJson(r);
        const R = r.return;
        if (opts.quiet) return console.log(R.mean.toFixed(2));
        console.log(
          `${bold(r.env)}${r.envOptions ? ` (${describeEnvOptions(r.envOptions)})` : ''} ${r.policy.file}: return over ${r.episodes} episodes (seeds ${r.seed}..${r.seed + r.episodes - 1}) ` +
            `mean ${R.mean.toFixed(2)} (std ${R.std.toFixed(2)}, min ${R.min.toFixed(2)}, max ${R.max.toFixed(2)}), ${r.steps} steps`,
        );
      }),
    );
}
