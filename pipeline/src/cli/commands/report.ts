import type { Command } from 'commander';
import { EXIT_HELP } from '../exit-codes.js';
import { resolve } from 'node:path';
import { action, bold, green, printJson, red } from '../shared.js';

interface ReportFlags {
  dir: string;
  add: string[];
  openPath?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('(Re)build OUT/report.html (one self-contained page: cards, charts, tables) and OUT/report.json (report-data.json in a distill output directory, whose report.json stays) from what is in OUT, plus files given with --add (device check reports are merged in, one per device).')
    .requiredOption('--dir <out>', 'output directory holding the run (distill report, artifacts.json, compress-report.json, bundles, check reports)')
    .option('--add <file>', 'a check-report.json from a device (repeatable; also takes artifacts.json, compress-report.json, a distill report or a bundle manifest.json)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--open-path', 'print only the absolute path of report.html (for xdg-open / open)')
    .option('--json', 'print what was written and the verdicts as JSON')
    .option('--quiet', 'print nothing but errors')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExample:\n  $ edgedistill report --dir runs/cartpole --add rpi4/check-report.json --add jetson/check-report.json\n  $ xdg-open "$(edgedistill report --dir runs/cartpole --open-path)"`)
    .action(
      action(async (opts: ReportFlags) => {
        const { writeReport } = await import('../../report/index.js');
        const r = await writeReport(opts.dir, opts.add);
        const budgets = r.data.checks.flatMap((c) => c.budgets);
        const passed = budgets.filter((b) => b.passed).length;
        if (opts.openPath) return void console.log(resolve(r.html));
        if (opts.json) return printJson({ html: r.html, json: r.json, sources: r.data.sources, devices: r.data.checks.map((c) => c.key), budgets: { passed, total: budgets.length } });
        if (opts.quiet) return;
        const verdict = budgets.length === 0 ? 'no device checks yet' : passed === budgets.length ? green(`${passed}/${budgets.length} budgets passed`) : red(`${passed}/${budgets.length} budgets passed`);
        console.log(`${bold(r.data.title)}: ${r.data.sources.length} files, ${r.data.checks.length} device(s), ${verdict}`);
        for (const f of [r.html, r.json]) console.log(`  wrote ${f}`);
      }),
    );
}
