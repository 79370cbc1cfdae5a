import type { Command } from 'commander';
import { EXIT_HELP } from '../exit-codes.js';
import { action, printJson, bold } from '../shared.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('Roll out a seeded random policy in every environment and print the returns (the placeholder main job before `edgedistill run`).')
    .option('--episodes <n>', 'episodes per environment', '10')
    .option('--seed <n>', 'seed of the first episode', '0')
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print nothing but errors and the result')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill demo --episodes 5 --json`)
    .action(
      action(async (opts: { episodes: string; seed: string; json?: boolean; quiet?: boolean }) => {
        const { randomRollouts } = await import('../../demo/random-rollouts.js');
        const results = randomRollouts(Number(opts.episodes), Number(opts.seed));
        if (opts.json) return printJson(results);
        for (const r of results) {
          console.log(
            `${bold(r.env.padEnd(26))} random policy over ${r.episodes} episodes: return mean ${r.return.mean.toFixed(2)} ` +
              `(std ${r.return.std.toFixed(2)}, min ${r.return.min.toFixed(2)}, max ${r.return.max.toFixed(2)})`,
          );
        }
      }),
    );
}
