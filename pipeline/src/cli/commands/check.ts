import { Option, type Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import { createLines } from '../progress.js';
import { action, parseNumber, printJson } from '../shared.js';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

interface CheckFlags {
  target?: string[];
  out?: string;
  concurrency: string;
  sshConfig?: string;
  identity?: string;
  knownHosts?: string;
  nodePath?: string;
  deployPath?: string;
  checkTimeout: string;
  checkArgs?: string;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('check')
    .description('Run the on-device check on the current release of each device over ssh and bring check-report.json back (no device lock is taken: the check only reads the release and writes its report).')
    .addOption(new Option('--target <url>', 'ssh://[user@]host[:port][/deploy/path][?node=/path/to/node]; repeatable').argParser(collect))
    .option('--out <dir>', 'save the reports as DIR/<target>/check-report.json', 'check-reports')
    .option('--concurrency <n>', 'devices checked at once', '4')
    .option('--ssh-config <file>', 'ssh -F FILE')
    .option('--identity <file>', 'ssh -i FILE')
    .option('--known-hosts <file>', 'UserKnownHostsFile (host keys are always checked)')
    .option('--node-path <path>', "node on the devices (default: the release manifest's nodePath, then node on PATH)")
    .option('--deploy-path <path>', 'deploy directory when the target URL has none', '/home/pi/edgedistill')
    .option('--check-timeout <s>', 'time allowed for the check', '3600')
    .addOption(new Option('--check-args <args>', 'extra arguments for edgedistill-device check, space-separated').hideHelp())
    .option('--json', 'print JSON for scripts (the full reports)')
    .option('--quiet', 'print only the table')
    .addHelpText(
      'after',
      '\nExit codes: 0 every device passed; 1 a check failed its budgets; 3 a device could not be checked.\n\nExample:\n  $ edgedistill check --target ssh://pi@robot1.local --out reports\n  $ edgedistill check --target ssh://pi@robot1.local/home/pi/edgedistill --target ssh://pi@robot2.local --json',
    )
    .action(
      action(async (opts: CheckFlags) => {
        const { checkFleet, formatCheckTable, parseTargets } = await import('../../flash/index.js');
        const targets = parseTargets(opts.target ?? []);
        const bar = await createLines(opts, targets.map((t) => t.label), ['check', 'done']);
        let results;
        try {
          results = await checkFleet(opts.target ?? [], {
            outDir: opts.out,
            concurrency: parseNumber('--concurrency', opts.concurrency),
            configFile: opts.sshConfig,
            identity: opts.identity,
            knownHosts: opts.knownHosts,
            nodePath: opts.nodePath,
            deployPath: opts.deployPath,
            checkTimeoutSeconds: parseNumber('--check-timeout', opts.checkTimeout),
            checkArgs: opts.checkArgs?.split(/\s+/).filter(Boolean),
            onProgress: (t, d) => bar.update(t.label, d === 'running the check' ? 'check' : 'done', d),
          });
        } finally {
          bar.stop();
        }
        if (opts.json) printJson({ results });
        else console.log(formatCheckTable(results));
        if (results.every((r) => r.ok)) return EXIT.ok;
        return results.some((r) => r.error !== null) ? EXIT.failure : EXIT.checkFailed;
      }),
    );
}
