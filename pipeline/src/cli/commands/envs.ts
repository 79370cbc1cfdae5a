import type { Command } from 'commander';
import { EXIT, EXIT_HELP } from '../exit-codes.js';
import { action, printJson, bold, green, red, dim } from '../shared.js';

interface Flags {
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  const envs = program
    .command('envs')
    .description('Gymnasium classic-control environments: list them, verify them against recorded Gymnasium trajectories.')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill envs list\n  $ edgedistill envs verify ../shared/refdata/gym-*.json --json`);

  envs
    .command('list')
    .description('List the registered environments with their spaces, time limit and reward threshold.')
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print the ids only')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill envs list --json`)
    .action(
      action(async (opts: Flags) => {
        const { listEnvs, formatSpace, spaceToJSON } = await import('@edgedistill/runtime/envs');
        const specs = listEnvs();
        if (opts.json) {
          return printJson(
            specs.map((s) => ({
              id: s.id,
              observationSpace: { ...spaceToJSON(s.observationSpace), text: formatSpace(s.observationSpace) },
              actionSpace: { ...spaceToJSON(s.actionSpace), text: formatSpace(s.actionSpace) },
              maxEpisodeSteps: s.maxEpisodeSteps,
              rewardThreshold: s.rewardThreshold,
            })),
          );
        }
        for (const s of specs) {
          if (opts.quiet) {
            console.log(s.id);
            continue;
          }
          console.log(bold(s.id));
          console.log(`  observation ${formatSpace(s.observationSpace)}`);
          console.log(`  action      ${formatSpace(s.actionSpace)}`);
          console.log(`  ${dim(`time limit ${s.maxEpisodeSteps} steps, reward threshold ${s.rewardThreshold ?? 'none'}`)}`);
        }
      }),
    );

  envs
    .command('verify')
    .description(
      'Replay recorded Gymnasium trajectories (shared/refdata format) and compare observations (abs 1e-6), rewards (rel 1e-6), ' +
        'terminated/truncated flags and seeded resets. Exit 1 when a file does not match, 2 when a file is malformed.',
    )
    .argument('<files...>', 'trajectory JSON files')
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print nothing but failures and the summary')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill envs verify ../shared/refdata/gym-CartPole-v1.json ../shared/refdata/gym-Pendulum-v1.json`)
    .action(
      action(async (files: string[], opts: Flags) => {
        const { readTrajectoryFile, verifyTrajectory } = await import('../../envs/verify.js');
        // Validate every file before replaying any: a malformed file is bad input (exit 2).
        const data = [];
        for (const f of files) data.push(await readTrajectoryFile(f));
        const results = data.map((d, i) => verifyTrajectory(d, files[i]));
        const passed = results.every((r) => r.passed);
        if (opts.json) printJson({ passed, files: results });
        else {
          for (const r of results) {
            if (opts.quiet && r.passed) continue;
            const head = r.passed ? green('ok  ') : red('FAIL');
            console.log(
              `${head} ${r.file}: ${r.env}, ${r.episodes} episodes, ${r.steps} steps, max obs error ${r.maxObsError.toExponential(2)}, ` +
                `max reward error ${r.maxRewardError.toExponential(2)}, flag mismatches ${r.flagMismatches}, reset mismatches ${r.resetMismatches}`,
            );
            for (const m of r.specMismatches) console.log(`     spec: ${m}`);
            if (!r.passed && r.firstMismatch) {
              const { episode, step, what } = r.firstMismatch;
              console.log(`     first mismatch: episode ${episode}, ${step < 0 ? 'reset' : `step ${step}`}: ${what}`);
            }
          }
          const nFail = results.filter((r) => !r.passed).length;
          console.log(passed ? green(`${results.length} file(s) match Gymnasium`) : red(`${nFail} of ${results.length} file(s) do not match`));
        }
        return passed ? EXIT.ok : EXIT.checkFailed;
      }),
    );
}
