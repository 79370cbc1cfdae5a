/**
 * The `edgedistill` CLI: declares commands only. Each command lives in ./commands/<name>.ts, whose
 * action parses flags, calls a library function and prints; the real work is in the library,
 * which is what tests call. Command modules import their work lazily inside the action, so
 * `edgedistill --help` loads commander and these small files only.
 */
import { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import * as run from './commands/run.js';
import * as demo from './commands/demo.js';
import * as envs from './commands/envs.js';
import * as train from './commands/train.js';
import * as distill from './commands/distill.js';
import * as compress from './commands/compress.js';
import * as exportCmd from './commands/export.js';
import * as inspect from './commands/inspect.js';
import * as evalCmd from './commands/eval.js';
import * as report from './commands/report.js';
import * as bundle from './commands/bundle.js';
import * as flash from './commands/flash.js';
import * as check from './commands/check.js';

/** In the order `edgedistill --help` lists them: the main job first, then the stages in pipeline order. */
const COMMANDS: readonly { register(program: Command): void }[] = [
  run, // run: config -> every stage -> report (npm start)
  envs, // envs: list, verify against Gymnasium
  train, // train: teachers (PPO, DQN, SAC on tfjs)
  distill, // distill: teacher -> small student (DAgger, wasm SIMD / js-f32 trainer)
  compress, // compress: prune, share, int8/fp16, fuse students
  exportCmd, // export: artifacts behind the parity gate
  inspect, // inspect: what a model file holds
  evalCmd, // eval: deterministic return of a policy
  report, // report: OUT/report.html + report.json from a run's files
  bundle, // bundle: per-device .tar.gz (runtime, artifacts, golden set, manifest)
  flash, // flash: install bundles over ssh (or into dir:), check, roll back
  check, // check: on-device check of the current release over ssh
  demo, // demo: random-policy rollouts in every env (the old placeholder main job)
];

const program = new Command('edgedistill')
  .description('Distill RL teachers into tiny students, compress, export, bundle, flash and check them on edge devices.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ showGlobalOptions: true })
  .addHelpText(
    'after',
    `
Every command takes --help (with an example), --json (for scripts) and --quiet.

Exit codes: 0 ok, 1 a check ran and failed (parity gate, device budgets, trajectory mismatch),
2 bad input (arguments, config, model, trajectory, tampered bundle), 3 device/IO/runtime failure,
130 interrupted.

Example:
  $ edgedistill run                       # the main job on CartPole-v1 (npm start)
  $ edgedistill run configs/pendulum-v1.yaml --out runs/pendulum
  $ edgedistill envs list`,
  );

// Commander's own usage errors (unknown option, missing argument) exit with our "bad input" code.
program.exitOverride((err) => {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
    process.exit(EXIT.ok);
  }
  process.exit(EXIT.badInput);
});

for (const c of COMMANDS) c.register(program);

process.on('SIGINT', () => process.exit(EXIT.interrupted));
await program.parseAsync(process.argv);
