import { Option, type Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import { createLines } from '../progress.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { action, parseNumber, printJson } from '../shared.js';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

interface FlashFlags {
  target?: string[];
  concurrency: string;
  keep?: string;
  sshConfig?: string;
  identity?: string;
  knownHosts?: string;
  nodePath?: string;
  lockTimeout: string;
  checkTimeout: string;
  upload: string;
  bwlimit?: string;
  out?: string;
  checkArgs?: string;
  json?: boolean;
  quiet?: boolean;
  inventory?: string;
  limit?: string;
  bundlesDir?: string;
  canary?: string;
  retries: string;
  logDir?: string;
  emitAnsible?: string;
  ansibleMode: string;
}

export function register(program: Command): void {
  program
    .command('flash')
    .description(
      'Install a bundle on devices through the system ssh (your ~/.ssh/config, agent and known_hosts apply): lock, upload, verify every sha256 on the device, switch `current` atomically, run the on-device check, roll back if it fails, keep the last N releases. dir:PATH installs into a mounted SD-card root instead (no check there).',
    )
    .argument('[bundle...]', 'bundle .tar.gz from `edgedistill bundle` (with --inventory: one per device profile)')
    .option('--inventory <file>', 'Ansible inventory (INI or YAML): hosts, groups, ansible_host/port/user/ssh_private_key_file, edgedistill_device (profile), edgedistill_path')
    .option('--limit <pattern>', 'with --inventory: hosts or groups, comma-separated (Ansible patterns: g1,g2, &g, !host, web*)')
    .option('--bundles-dir <dir>', 'with --inventory: pick each host\'s bundle for its profile from DIR (newest per profile)')
    .option('--canary <n>', 'with --inventory: flash the first N hosts, go on only if all of them pass their check')
    .option('--retries <n>', 'with --inventory: attempts per host for transient SSH failures (back-off 2 s, 4 s, ...; never for a host-key mismatch)', '3')
    .option('--log-dir <dir>', 'with --inventory: one log per host with every ssh command and its output')
    .option('--emit-ansible <dir>', 'write an Ansible playbook + role + the bundle to DIR instead of flashing (same atomic install)')
    .option('--ansible-mode <mode>', 'with --emit-ansible: raw (devices without python; default) or modules', 'raw')
    .addOption(new Option('--target <url>', 'ssh://[user@]host[:port][/deploy/path][?node=/path/to/node] or dir:/mnt/root/home/pi/edgedistill; repeatable').argParser(collect))
    .option('--concurrency <n>', 'devices flashed at once', '4')
    .option('--keep <n>', "releases kept per device (default: the profile's keepReleases; current and previous always stay)")
    .option('--ssh-config <file>', 'ssh -F FILE')
    .option('--identity <file>', 'ssh -i FILE')
    .option('--known-hosts <file>', 'UserKnownHostsFile (host keys are always checked)')
    .option('--node-path <path>', "node on the devices (default: the profile's deploy.nodePath, then node on PATH)")
    .option('--lock-timeout <s>', "a device lock older than this is taken over (a lock of a dead flash from this machine is taken over at once)", '3600')
    .option('--check-timeout <s>', 'time allowed for the on-device check', '3600')
    .option('--upload <how>', 'auto | rsync | scp', 'auto')
    .option('--bwlimit <KiB/s>', 'limit the upload bandwidth (rsync --bwlimit, scp -l)')
    .option('--out <dir>', 'save each device check-report.json under DIR/<target>/')
    .addOption(new Option('--check-args <args>', 'extra arguments for edgedistill-device check, space-separated (e.g. "--calls 2000")').hideHelp())
    .option('--json', 'print JSON for scripts')
    .option('--quiet', 'print only the summary table')
    .addHelpText(
      'after',
      '\nExit codes: 0 every device flashed and passed its check; 1 a check failed (that device was rolled back); 3 a device could not be flashed.\n\nExample:\n  $ edgedistill flash dist/cartpole-rpi4-arm64-1a2b3c4d5e6f7a8b.tar.gz --target ssh://pi@robot1.local/home/pi/edgedistill --target ssh://pi@robot2.local\n  $ edgedistill flash dist/b.tar.gz --target dir:/mnt/sdroot/home/pi/edgedistill --json\n  $ edgedistill flash --bundles-dir dist --inventory hosts.ini --limit lab,!pi7 --canary 1 --log-dir logs\n  $ edgedistill flash dist/b.tar.gz --emit-ansible deploy && ansible-playbook -i hosts.ini deploy/site.yml',
    )
    .action(
      action(async (bundles: string[], opts: FlashFlags) => {
        if (opts.emitAnsible) {
          const { emitAnsible } = await import('../../fleet/ansible.js');
          if (bundles.length !== 1) throw new EdgeDistillError('BAD_ARGUMENT', '--emit-ansible takes exactly one bundle', { field: 'bundle' });
          const mode = opts.ansibleMode === 'modules' ? 'modules' : opts.ansibleMode === 'raw' ? 'raw' : null;
          if (!mode) throw new EdgeDistillError('BAD_ARGUMENT', `--ansible-mode must be raw or modules, got '${opts.ansibleMode}'`, { field: '--ansible-mode' });
          const r = emitAnsible(bundles[0], opts.emitAnsible, { mode, keep: opts.keep !== undefined ? parseNumber('--keep', opts.keep) : undefined, checkArgs: opts.checkArgs?.split(/\s+/).filter(Boolean) });
          if (opts.json) printJson(r);
          else console.log(`wrote ${r.playbook} (role ${r.role}, bundle ${r.bundle}, mode ${r.mode})\nrun: ansible-playbook -i INVENTORY ${r.playbook}`);
          return EXIT.ok;
        }
        if (opts.inventory) return flashFromInventory(bundles, opts);
        if (bundles.length !== 1) throw new EdgeDistillError('BAD_ARGUMENT', `give exactly one bundle with --target (got ${bundles.length}); several bundles need --inventory`, { field: 'bundle' });
        const bundle = bundles[0];
        const { flashFleet, formatFlashTable, parseTargets } = await import('../../flash/index.js');
        const upload = opts.upload === 'rsync' || opts.upload === 'scp' ? opts.upload : 'auto';
        const targets = parseTargets(opts.target ?? []);
        // One line per device, a bar over the flash phases.
        const bar = await createLines(opts, targets.map((t) => t.label), ['connect', 'lock', 'upload', 'verify', 'check', 'done']);
        let out;
        try {
          out = await flashFleet(bundle, opts.target ?? [], {
            concurrency: parseNumber('--concurrency', opts.concurrency),
            keep: opts.keep !== undefined ? parseNumber('--keep', opts.keep) : undefined,
            configFile: opts.sshConfig,
            identity: opts.identity,
            knownHosts: opts.knownHosts,
            nodePath: opts.nodePath,
            lockTimeoutSeconds: parseNumber('--lock-timeout', opts.lockTimeout),
            checkTimeoutSeconds: parseNumber('--check-timeout', opts.checkTimeout),
            upload,
            bwlimitKiB: opts.bwlimit !== undefined ? parseNumber('--bwlimit', opts.bwlimit) : undefined,
            outDir: opts.out,
            checkArgs: opts.checkArgs?.split(/\s+/).filter(Boolean),
            onProgress: (t, phase, detail) => bar.update(t.label, phase, detail),
          });
        } finally {
          bar.stop();
        }
        const { results } = out;
        const strip = results.map((r) => ({ ...r, check: { ...r.check, report: undefined } }));
        if (opts.json) printJson({ bundle: { path: out.bundle.path, id: out.bundle.id, bytes: out.bundle.bytes, sha256: out.bundle.sha256, device: out.bundle.manifest.device }, results: strip });
        else {
          if (!opts.quiet) console.log(`bundle ${out.bundle.path} (release ${out.bundle.id}, ${out.bundle.manifest.device})`);
          console.log(formatFlashTable(results));
          for (const r of results) for (const w of [...r.recovered, ...r.warnings]) console.log(`  ${r.label}: ${w}`);
        }
        if (results.every((r) => r.ok)) return EXIT.ok;
        return results.some((r) => !r.ok && !(r.check.ran && r.check.passed === false)) ? EXIT.failure : EXIT.checkFailed;
      }),
    );
}

/** flash --inventory: each host gets the bundle for its profile; retries, logs, canary, fleet table. */
async function flashFromInventory(bundles: string[], opts: FlashFlags): Promise<number> {
  const { loadInventory, limitHosts } = await import('../../fleet/inventory.js');
  const { bundlesByProfile, flashInventory, formatFleetTable, fleetJson } = await import('../../fleet/run.js');
  if (opts.target?.length) throw new EdgeDistillError('BAD_ARGUMENT', '--target and --inventory do not mix', { field: '--target' });
  const hosts = limitHosts(loadInventory(opts.inventory as string), opts.limit);
  if (bundles.length === 0 && !opts.bundlesDir) throw new EdgeDistillError('BAD_ARGUMENT', 'no bundle: give bundle files or --bundles-dir', { field: 'bundle' });
  const byProfile = bundlesByProfile(bundles, opts.bundlesDir);
  const bar = await createLines(opts, hosts.map((h) => h.name), ['connect', 'lock', 'upload', 'verify', 'check', 'done']);
  let out;
  try {
    out = await flashInventory(hosts, byProfile, {
      concurrency: parseNumber('--concurrency', opts.concurrency),
      keep: opts.keep !== undefined ? parseNumber('--keep', opts.keep) : undefined,
      configFile: opts.sshConfig,
      identity: opts.identity,
      knownHosts: opts.knownHosts,
      nodePath: opts.nodePath,
      lockTimeoutSeconds: parseNumber('--lock-timeout', opts.lockTimeout),
      checkTimeoutSeconds: parseNumber('--check-timeout', opts.checkTimeout),
      upload: opts.upload === 'rsync' || opts.upload === 'scp' ? opts.upload : 'auto',
      bwlimitKiB: opts.bwlimit !== undefined ? parseNumber('--bwlimit', opts.bwlimit) : undefined,
      outDir: opts.out,
      checkArgs: opts.checkArgs?.split(/\s+/).filter(Boolean),
      canary: opts.canary !== undefined ? parseNumber('--canary', opts.canary) : undefined,
      retries: parseNumber('--retries', opts.retries),
      logDir: opts.logDir,
      onProgress: (h, phase, detail) => bar.update(h, phase === 'retry' ? 'connect' : phase === 'skipped' ? 'done' : phase, detail),
    });
  } finally {
    bar.stop();
  }
  const { results } = out;
  if (opts.json) {
    printJson({
      inventory: opts.inventory,
      bundles: [...byProfile.values()].map((b) => ({ path: b.path, id: b.id, device: b.manifest.device })),
      canary: out.canary,
      wallSeconds: out.wallSeconds,
      summary: { hosts: results.length, ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length },
      results: results.map(fleetJson),
    });
  } else {
    console.log(formatFleetTable(results));
    if (out.canary && !out.canary.passed) console.log(`canary ${out.canary.hosts.join(', ')} failed: the other hosts were not flashed`);
    if (!opts.quiet) for (const r of results) for (const w of [...r.recovered, ...r.warnings]) console.log(`  ${r.host}: ${w}`);
  }
  if (results.every((r) => r.ok)) return EXIT.ok;
  return results.some((r) => !r.ok && !(r.check.ran && r.check.passed === false)) ? EXIT.failure : EXIT.checkFailed;
}
