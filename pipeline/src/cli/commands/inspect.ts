import type { Command } from 'commander';
import { EXIT_HELP } from '../exit-codes.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { action, printJson } from '../shared.js';

const KINDS = ['logits', 'q_values', 'action'] as const;

export function parseTeacherOutput(v: string | undefined): (typeof KINDS)[number] | undefined {
  if (v === undefined) return undefined;
  if (!(KINDS as readonly string[]).includes(v)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--teacher-output must be logits, q_values or action, got "${v}"`, { field: '--teacher-output' });
  }
  return v as (typeof KINDS)[number];
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Show what a model file holds: inputs, outputs, layers, parameters, ops and opset, whether it imports into the IR (and why not), metadata.')
    .argument('<file>', '.onnx model or policy.json')
    .option('--teacher-output <kind>', 'what the output means when its name does not say: logits | q_values | action')
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print only the one-line verdict')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill inspect teacher.onnx\n  $ edgedistill inspect sb3_dqn.onnx --teacher-output q_values --json`)
    .action(
      action(async (file: string, opts: { teacherOutput?: string; json?: boolean; quiet?: boolean }) => {
        const { inspectFile, formatInspect } = await import('../../onnx/inspect.js');
        const report = await inspectFile(file, { teacherOutput: parseTeacherOutput(opts.teacherOutput) });
        if (opts.json) return printJson(report);
        if (opts.quiet) {
          console.log(`${file}: ${report.importable ? 'importable' : 'opaque'}, ${report.params} params`);
          return;
        }
        for (const line of formatInspect(report)) console.log(line);
      }),
    );
}
