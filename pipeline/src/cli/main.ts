/**
 * The `edgedistill` CLI: declares commands only. Each command lives in ./commands/<name>.ts, whose
 * action parses flags, calls a library function and prints; the real work is in the library,
 * which is what tests call.
 */
import { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import { register as registerEnvs } from './commands/envs.js';
import { register as registerDemo } from './commands/demo.js';

const program = new Command('edgedistill')
  .description('Distill RL teachers into tiny students, compress, export, bundle, flash and check them on edge devices.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ showGlobalOptions: true })
  .addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 a check ran and failed, 2 bad input, 3 device/IO/runtime failure, 130 interrupted.

Example:
  $ edgedistill envs list
  $ edgedistill envs verify ../shared/refdata/gym-CartPole-v1.json --json`,
  );

// Commander's own usage errors (unknown option, missing argument) exit with our "bad input" code.
program.exitOverride((err) => {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
    process.exit(EXIT.ok);
  }
  process.exit(EXIT.badInput);
});

for (const register of [registerDemo, registerEnvs]) register(program);
(await import('./commands/train.js')).register(program); // train: teachers (PPO, DQN, SAC on tfjs)
(await import('./commands/distill.js')).register(program); // distill: teacher -> small student (DAgger, js-f32 trainer)
(await import('./commands/compress.js')).register(program); // compress: prune, share, int8/fp16, fuse students
(await import('./commands/export.js')).register(program); // export: artifacts behind the parity gate
for (const c of [await import('./commands/inspect.js'), await import('./commands/eval.js')]) c.register(program); // inspect, eval: model files
(await import('./commands/report.js')).register(program); // report: OUT/report.html + report.json from a run's files
(await import('./commands/bundle.js')).register(program); // bundle: per-device .tar.gz (runtime, artifacts, golden set, manifest)
(await import('./commands/flash.js')).register(program); // flash: install bundles over ssh (or into dir:), check, roll back
(await import('./commands/check.js')).register(program); // check: on-device check of the current release over ssh

process.on('SIGINT', () => process.exit(EXIT.interrupted));
await program.parseAsync(process.argv);
