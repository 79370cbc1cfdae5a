import { Option, type Command } from 'commander';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { EXIT_HELP } from '../exit-codes.js';
import { withBar } from '../progress.js';
import { action, bold, dim, parseNumber, printJson } from '../shared.js';

interface BundleFlags {
  device?: string;
  inventory?: string;
  limit?: string;
  policy: string;
  teacher?: string;
  out: string;
  name?: string;
  episodes?: string;
  budgetOverride?: string[];
  json?: boolean;
  quiet?: boolean;
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export function register(program: Command): void {
  program
    .command('bundle')
    .description(
      'Build one reproducible .tar.gz for a device: the bundled device runtime, only the backend binaries that device runs, the artifacts it can run, the golden set with desktop outputs, and manifest.json (sha256 of every file, profile, budgets, policy card).',
    )
    .option('--device <id>', 'device profile id (devices/<id>.json, e.g. rpi4-arm64) or a profile .json')
    .option('--inventory <file>', 'instead of --device: one bundle per distinct edgedistill_device in this Ansible inventory')
    .option('--limit <pattern>', 'with --inventory: only these hosts or groups (comma-separated)')
    .requiredOption('--policy <dir>', 'policy/export directory: policy.json and artifacts (artifacts.json); exported on the fly when it has none')
    .option('--teacher <file>', 'the teacher the check compares against (default: the one artifacts.json names)')
    .requiredOption('--out <dir>', 'output directory for <policy>-<device>-<id>.tar.gz')
    .option('--name <name>', 'policy name in the file name (default: the policy directory name)')
    .option('--episodes <n>', "episodes the on-device check rolls out per artifact (default: the profile's checkEpisodes)")
    .addOption(new Option('--budget-override <key=value>', 'replace a profile budget (controlPeriodUs, maxRssMiB, minAgreement, minReturnRetention); repeatable').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]).hideHelp())
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print only the bundle path')
    .addHelpText(
      'after',
      `\n${EXIT_HELP}\n` + '\nExample:\n  $ edgedistill bundle --device rpi4-arm64 --policy out/cartpole --teacher models/cartpole-v1/teacher.onnx --out dist\n  $ edgedistill bundle --device rpi-zero2w-armv7 --policy out/cartpole --out dist --json\n  $ edgedistill bundle --inventory hosts.ini --policy out/cartpole --out dist   # one bundle per profile in the fleet',
    )
    .action(
      action(async (opts: BundleFlags) => {
        const { createBundle, parseBudgetOverrides } = await import('../../bundle/index.js');
        if (opts.inventory) {
          if (opts.device) throw new EdgeDistillError('BAD_ARGUMENT', '--device and --inventory do not mix', { field: '--device' });
          const { loadInventory, limitHosts, inventoryProfiles } = await import('../../fleet/inventory.js');
          const hosts = limitHosts(loadInventory(opts.inventory), opts.limit);
          const profiles = inventoryProfiles(hosts);
          const missing = hosts.filter((h) => !h.device).map((h) => h.name);
          if (profiles.length === 0 || missing.length) {
            throw new EdgeDistillError('BAD_CONFIG', `no edgedistill_device for host(s) ${missing.join(', ') || '(none in the inventory)'}`, { file: opts.inventory, field: 'edgedistill_device', suggestion: 'set edgedistill_device=rpi4-arm64 in the host line or a [group:vars] section' });
          }
          const results = [];
          for (const device of profiles) {
            results.push(await createBundle({ device, policyDir: opts.policy, teacher: opts.teacher, out: opts.out, name: opts.name, checkEpisodes: opts.episodes !== undefined ? parseNumber('--episodes', opts.episodes) : undefined, budgetOverride: parseBudgetOverrides(opts.budgetOverride ?? []) }));
          }
          if (opts.json) return printJson({ bundles: results.map((r) => ({ ...r, hosts: hosts.filter((h) => h.device === r.device).map((h) => h.name) })) });
          for (const r of results) console.log(opts.quiet ? r.path : `${bold(r.path)}  ${r.device} (${r.arch}), release ${r.id}, hosts: ${hosts.filter((h) => h.device === r.device).map((h) => h.name).join(', ')}`);
          return;
        }
        if (!opts.device) throw new EdgeDistillError('BAD_ARGUMENT', 'give --device PROFILE or --inventory FILE', { field: '--device' });
        const device = opts.device;
        const STEPS = ['profile', 'artifacts', 'export', 'golden', 'runtime', 'archive', 'write'];
        const r = await withBar(opts, { format: 'bundle {bar} {duration_formatted} | {step}', total: STEPS.length, fields: { step: '' } }, (bar) => createBundle({
          device,
          policyDir: opts.policy,
          teacher: opts.teacher,
          out: opts.out,
          name: opts.name,
          checkEpisodes: opts.episodes !== undefined ? parseNumber('--episodes', opts.episodes) : undefined,
          budgetOverride: parseBudgetOverrides(opts.budgetOverride ?? []),
          onStep: bar.active ? (s, d) => bar.update(STEPS.indexOf(s) + 1, { step: `${s}: ${d}` }) : undefined,
        }));
        if (opts.json) return printJson(r);
        if (opts.quiet) return console.log(r.path);
        console.log(`${bold(r.path)}`);
        console.log(`  ${mib(r.bytes)} (${r.bytes} bytes; ${mib(r.uncompressedBytes)} unpacked, ${r.files} files), sha256 ${r.sha256}`);
        console.log(`  release id ${r.id} (manifest sha256 ${r.manifestSha256}) for ${r.device} (${r.arch})`);
        for (const a of r.artifacts) console.log(`  ${a.role.padEnd(7)} ${a.name.padEnd(22)} ${a.format.padEnd(12)} on ${a.backend.padEnd(8)} ${a.path} (${a.bytes} bytes)`);
        for (const s of r.skipped) console.log(dim(`  skipped ${s.name}: ${s.reason}`));
        if (r.exported.length) console.log(dim(`  exported on the fly: ${r.exported.join(', ')}`));
        console.log(`  runtime packages: ${r.packages.map((p) => `${p.name}@${p.version} (${p.files} files, ${mib(p.bytes)})`).join(', ') || 'none (compiled JS only)'}`);
        const b = r.budgets;
        console.log(`  budgets: p99 <= ${b.controlPeriodUs} us, RSS <= ${b.maxRssMiB} MiB, agreement >= ${b.minAgreement}, return retention >= ${b.minReturnRetention}`);
      }),
    );
}
