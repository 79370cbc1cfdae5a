import { Option, type Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import { createLines } from '../progress.js';
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
}

export function register(program: Command): void {
  program
    .command('flash')
    .description(
      'Install a bundle on devices through the system ssh (your ~/.ssh/config, agent and known_hosts apply): lock, upload, verify every sha256 on the device, switch `current` atomically, run the on-device check, roll back if it fails, keep the last N releases. dir:PATH installs into a mounted SD-card root instead (no check there).',
    )
    .argument('<bundle>', 'bundle .tar.gz from `edgedistill bundle`')
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
      '\nExit codes: 0 every device flashed and passed its check; 1 a check failed (that device was rolled back); 3 a device could not be flashed.\n\nExample:\n  $ edgedistill flash dist/cartpole-rpi4-arm64-1a2b3c4d5e6f7a8b.tar.gz --target ssh://pi@robot1.local/home/pi/edgedistill --target ssh://pi@robot2.local\n  $ edgedistill flash dist/b.tar.gz --target dir:/mnt/sdroot/home/pi/edgedistill --json',
    )
    .action(
      action(async (bundle: string, opts: FlashFlags) => {
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
