import { Option, type Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import { createLines } from '../progress.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
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
  inventory?: string;
  limit?: string;
  retries: string;
  logDir?: string;
}

export function register(program: Command): void {
  program
    .command('check')
    .description('Run the on-device check on the current release of each device over ssh and bring check-report.json back (no device lock is taken: the check only reads the release and writes its report).')
    .addOption(new Option('--target <url>', 'ssh://[user@]host[:port][/deploy/path][?node=/path/to/node]; repeatable').argParser(collect))
    .option('--inventory <file>', 'Ansible inventory (INI or YAML), the same one `flash --inventory` takes: check every host in it')
    .option('--limit <pattern>', 'with --inventory: hosts or groups, comma-separated (Ansible patterns: g1,g2, &g, !host, web*)')
    .option('--retries <n>', 'with --inventory: attempts per host for transient SSH failures (never for a host-key mismatch)', '3')
    .option('--log-dir <dir>', 'with --inventory: one log per host with every ssh command and its output')
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
      '\nExit codes: 0 every device passed; 1 a check failed its budgets; 3 a device could not be checked.\n\nExample:\n  $ edgedistill check --target ssh://pi@robot1.local --out reports\n  $ edgedistill check --target ssh://pi@robot1.local/home/pi/edgedistill --target ssh://pi@robot2.local --json\n  $ edgedistill check --inventory hosts.ini --limit lab --log-dir logs',
    )
    .action(
      action(async (opts: CheckFlags) => {
        if (opts.inventory) return checkFromInventory(opts);
        if (opts.limit !== undefined || opts.logDir !== undefined) throw new EdgeDistillError('BAD_ARGUMENT', '--limit and --log-dir need --inventory', { field: opts.limit !== undefined ? '--limit' : '--log-dir' });
        if (!opts.target?.length) throw new EdgeDistillError('BAD_ARGUMENT', 'nothing to check: give --target URL (repeatable) or --inventory FILE', { field: '--target' });
        const { checkFleet, formatCheckTable, parseTargets } = await import('../../flash/index.js');
        const targets = parseTargets(opts.target ?? []);
        const bar = await createLines(opts, targets.map((t) => t.label), ['check', 'done']);
        let results;
        try {
          results = await checkFleet(opts.target ?? [], {
            ...checkOptions(opts),
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

/** What both forms (targets, inventory) pass to the check over ssh. */
function checkOptions(opts: CheckFlags) {
  return {
    outDir: opts.out,
    concurrency: parseNumber('--concurrency', opts.concurrency),
    configFile: opts.sshConfig,
    identity: opts.identity,
    knownHosts: opts.knownHosts,
    nodePath: opts.nodePath,
    deployPath: opts.deployPath,
    checkTimeoutSeconds: parseNumber('--check-timeout', opts.checkTimeout),
    checkArgs: opts.checkArgs?.split(/\s+/).filter(Boolean),
  };
}

async function checkFromInventory(opts: CheckFlags): Promise<number> {
  const { loadInventory, limitHosts } = await import('../../fleet/inventory.js');
  const { checkInventory } = await import('../../fleet/run.js');
  const { formatCheckTable } = await import('../../flash/index.js');
  if (opts.target?.length) throw new EdgeDistillError('BAD_ARGUMENT', '--target and --inventory do not mix', { field: '--target' });
  const hosts = limitHosts(loadInventory(opts.inventory as string), opts.limit);
  const bar = await createLines(opts, hosts.map((h) => h.name), ['check', 'done']);
  let results;
  try {
    results = await checkInventory(hosts, {
      ...checkOptions(opts),
      retries: parseNumber('--retries', opts.retries),
      logDir: opts.logDir,
      onProgress: (h, d) => bar.update(h, d === 'running the check' || d.startsWith('attempt') ? 'check' : 'done', d),
    });
  } finally {
    bar.stop();
  }
  if (opts.json) {
    printJson({
      inventory: opts.inventory,
      summary: { hosts: results.length, ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length },
      results,
    });
  } else console.log(formatCheckTable(results));
  if (results.every((r) => r.ok)) return EXIT.ok;
  return results.some((r) => r.error !== null) ? EXIT.failure : EXIT.checkFailed;
}
