/**
 * `edgedistill flash BUNDLE --emit-ansible DIR`: a playbook and role that perform flash's atomic
 * install with Ansible, for fleets already run by Ansible. Same device layout and lock as
 * remote-scripts.ts (releases/<id>, releases/.incoming-<id>-<token>, `current`/`previous` switched
 * with a temp link and `mv -T`, `.lock/` with an owner file carrying `token=`), so `edgedistill
 * flash` and `edgedistill check` work on hosts deployed either way.
 *
 * Two modes (`edgedistill_ansible_mode`):
 *   raw      (default) only `raw` tasks on the device plus `scp` run on the controller: devices
 *            without python (Ansible modules need python on the target; many minimal images and the
 *            emulated test devices have none). This is the mode CI runs.
 *   modules  copy / unarchive / stat checksum / file state=link / command; needs python3 on devices.
 */
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { readBundleArchive } from '../bundle/read.js';
import { RUNTIME_ENTRY_PATH } from '../bundle/entry.js';
import { checksumList } from '../flash/flash-ssh.js';

export interface EmitAnsibleOptions {
  readonly mode?: 'raw' | 'modules';
  readonly keep?: number;
  readonly checkArgs?: readonly string[];
}

export interface EmitAnsibleResult {
  readonly dir: string;
  readonly playbook: string;
  readonly role: string;
  readonly bundle: string;
  readonly release: string;
  readonly device: string;
  readonly mode: 'raw' | 'modules';
}

const ROLE = 'edgedistill_deploy';

// Shell pieces shared by both modes (device side, POSIX sh; the same as remote-scripts.ts).
const SH_VARS = `P='{{ edgedistill_path }}'; ID='{{ edgedistill_release }}'; TOKEN='{{ _ed_token }}'`;
const SH_SETLINK = `setlink() { ln -sfn "$1" "$P/$2.tmp" && mv -T "$P/$2.tmp" "$P/$2"; }`;

const LOCK = `${SH_VARS}
mkdir -p "$P/releases" "$P/.upload" || { echo "cannot create $P/releases"; exit 4; }
if ! mkdir "$P/.lock" 2>/dev/null; then echo "refused: $P/.lock is held:"; cat "$P/.lock/owner" 2>/dev/null; exit 75; fi
printf 'token=%s\\nhost=%s\\nuser=ansible\\ntime=%s\\nbundle=%s\\n' "$TOKEN" '{{ _ed_controller }}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ID" > "$P/.lock/owner"
rm -rf "$P"/releases/.incoming-* "$P"/.lock.stale.* "$P/current.tmp" "$P/previous.tmp"
echo "current=$(readlink "$P/current" 2>/dev/null | sed 's#^releases/##')"
echo "previous=$(readlink "$P/previous" 2>/dev/null | sed 's#^releases/##')"
if [ -d "$P/releases/$ID" ]; then echo have=yes; else echo have=no; fi`;

const VERIFY_EXISTING = `${SH_VARS}
R="$P/releases/$ID"
if [ -d "$R" ]; then
  if (cd "$R" && sha256sum -c "$P/.upload/$ID.sha256") >/dev/null 2>&1; then echo installed=existing; exit 0; fi
  rm -rf "$R"; echo damaged=yes
fi
echo installed=none`;

/** After the archive is in releases/.incoming-ID-TOKEN (tar or unarchive): verify and move. */
const VERIFY_INCOMING = `${SH_VARS}
INC="$P/releases/.incoming-$ID-$TOKEN"
(cd "$INC" && sha256sum -c "$P/.upload/$ID.sha256") > "$P/.lock/sums" 2>&1 || { grep -v ': OK$' "$P/.lock/sums" | head -n 3; rm -rf "$INC"; echo "checksum mismatch in $INC"; exit 79; }
n=$(find "$INC" -type f | wc -l); want=$(wc -l < "$P/.upload/$ID.sha256")
[ "$n" -eq "$want" ] || { rm -rf "$INC"; echo "unpacked $n files, the manifest lists $want"; exit 79; }
sync; mv "$INC" "$P/releases/$ID" && rm -f "$P/.upload/$ID.tar.gz" && sync && echo installed=new`;

const UNPACK_RAW = `${SH_VARS}
INC="$P/releases/.incoming-$ID-$TOKEN"
rm -rf "$INC"; mkdir -p "$INC" && tar -xzf "$P/.upload/$ID.tar.gz" -C "$INC" || { rm -rf "$INC"; echo "unpacking failed"; exit 78; }`;

const ACTIVATE_MARK = `${SH_VARS}
printf '%s %s %s\\n' "$ID" '{{ _ed_before | default("-", true) }}' '{{ _ed_previous | default("-", true) }}' > "$P/.lock/activate" && sync`;

const SWITCH_RAW = `${SH_VARS}
${SH_SETLINK}
cur=$(readlink "$P/current" 2>/dev/null || true)
if [ "$cur" != "releases/$ID" ]; then
  setlink "releases/$ID" current || exit 4
  if [ -n "$cur" ]; then setlink "$cur" previous; fi
  touch "$P/releases/$ID"; sync; echo switched=yes
else echo switched=no; fi`;

const CHECK = `${SH_VARS}
NODE='{{ edgedistill_node }}'; [ -x "$NODE" ] || NODE=$(command -v node) || { echo "node not found"; exit 4; }
cd "$P" && "$NODE" "current/{{ edgedistill_entry }}" check current --json {{ edgedistill_check_args }} > .lock/check.out 2> .lock/check.err
rc=$?; echo "checkrc=$rc"; tail -n 5 .lock/check.err; exit $rc`;

const ROLLBACK = `${SH_VARS}
${SH_SETLINK}
if [ -f "$P/.lock/activate" ]; then
  read -r aid aprev aprevprev < "$P/.lock/activate"
  if [ "$aprev" != - ]; then setlink "releases/$aprev" current; else rm -f "$P/current"; fi
  if [ "$aprevprev" != - ]; then setlink "releases/$aprevprev" previous; else rm -f "$P/previous"; fi
  {% if _ed_installed | default('') == 'new' %}rm -rf "$P/releases/$ID"{% endif %}

  rm -f "$P/.lock/activate"; sync; echo "rolledback=$aprev"
fi
rm -rf "$P/releases/.incoming-$ID-$TOKEN"`;

const PRUNE = `${SH_VARS}
rm -f "$P/.lock/activate"; cd "$P" || exit 4
curl=$(readlink current 2>/dev/null || true); prevl=$(readlink previous 2>/dev/null || true)
n=0; [ -n "$curl" ] && n=$((n + 1)); [ -n "$prevl" ] && [ "$prevl" != "$curl" ] && n=$((n + 1))
for r in $(ls -1t releases 2>/dev/null); do
  if [ "releases/$r" = "$curl" ] || [ "releases/$r" = "$prevl" ]; then continue; fi
  if [ "$n" -lt {{ edgedistill_keep }} ]; then n=$((n + 1)); else rm -rf "releases/$r" && echo "pruned=$r"; fi
done`;

const UNLOCK = `${SH_VARS}
if grep -qx "token=$TOKEN" "$P/.lock/owner" 2>/dev/null; then rm -rf "$P/.lock"; fi; rm -f "$P/.upload/$ID.sha256"`;

const kv = (name: string) => `{{ (_ed_lock.stdout_lines | select('match', '^${name}=') | first | default('${name}=')).split('=', 1)[1] }}`;

/** scp run on the controller (raw mode: the device needs no python; scp uses its sftp-server). */
function scpTask(name: string, src: string, dest: string) {
  return {
    name,
    delegate_to: 'localhost',
    'ansible.builtin.command': {
      argv: `{{ ['scp', '-q', '-o', 'BatchMode=yes', '-P', (hostvars[inventory_hostname].ansible_port | default(22) | string)] + (['-i', hostvars[inventory_hostname].ansible_ssh_private_key_file] if hostvars[inventory_hostname].ansible_ssh_private_key_file is defined else []) + ((hostvars[inventory_hostname].ansible_ssh_common_args | default('')) ~ ' ' ~ (hostvars[inventory_hostname].ansible_ssh_extra_args | default(''))).split() + [${src}, ((hostvars[inventory_hostname].ansible_user ~ '@') if hostvars[inventory_hostname].ansible_user is defined else '') ~ (hostvars[inventory_hostname].ansible_host | default(inventory_hostname)) ~ ':' ~ ${dest}] }}`,
    },
    changed_when: true,
  };
}

function tasks(mode: 'raw' | 'modules') {
  const raw = (name: string, script: string, extra: Record<string, unknown> = {}) => ({ name, 'ansible.builtin.raw': script, ...extra });
  const bundleSrc = "role_path ~ '/files/' ~ edgedistill_bundle_file";
  const sumsSrc = "role_path ~ '/files/SHA256SUMS'";
  const upload =
    mode === 'raw'
      ? [scpTask('Upload the checksum list (scp from the controller)', sumsSrc, "edgedistill_path ~ '/.upload/' ~ edgedistill_release ~ '.sha256'")]
      : [{ name: 'Upload the checksum list', 'ansible.builtin.copy': { src: 'SHA256SUMS', dest: '{{ edgedistill_path }}/.upload/{{ edgedistill_release }}.sha256', mode: '0644' } }];
  const uploadBundle =
    mode === 'raw'
      ? [
          { ...scpTask('Upload the bundle (scp from the controller)', bundleSrc, "edgedistill_path ~ '/.upload/' ~ edgedistill_release ~ '.tar.gz'"), when: "_ed_installed == 'none'" },
          raw('Unpack into releases/.incoming-<id>-<token>', UNPACK_RAW, { when: "_ed_installed == 'none'" }),
        ]
      : [
          {
            name: 'Upload the bundle',
            'ansible.builtin.copy': { src: '{{ edgedistill_bundle_file }}', dest: '{{ edgedistill_path }}/.upload/{{ edgedistill_release }}.tar.gz', mode: '0644' },
            when: "_ed_installed == 'none'",
          },
          { name: 'Verify the upload checksum', 'ansible.builtin.stat': { path: '{{ edgedistill_path }}/.upload/{{ edgedistill_release }}.tar.gz', checksum_algorithm: 'sha256' }, register: '_ed_stat', when: "_ed_installed == 'none'" },
          { name: 'Refuse a damaged upload', 'ansible.builtin.fail': { msg: 'uploaded bundle sha256 differs' }, when: "_ed_installed == 'none' and _ed_stat.stat.checksum != edgedistill_bundle_sha256" },
          { name: 'Create releases/.incoming-<id>-<token>', 'ansible.builtin.file': { path: '{{ edgedistill_path }}/releases/.incoming-{{ edgedistill_release }}-{{ _ed_token }}', state: 'directory', mode: '0755' }, when: "_ed_installed == 'none'" },
          {
            name: 'Unpack into releases/.incoming-<id>-<token>',
            'ansible.builtin.unarchive': { src: '{{ edgedistill_path }}/.upload/{{ edgedistill_release }}.tar.gz', dest: '{{ edgedistill_path }}/releases/.incoming-{{ edgedistill_release }}-{{ _ed_token }}', remote_src: true },
            when: "_ed_installed == 'none'",
          },
        ];
  const verifyIncoming =
    mode === 'raw'
      ? raw('Verify every sha256 (sha256sum -c) and move into releases/<id>', VERIFY_INCOMING, { when: "_ed_installed == 'none'" })
      : {
          name: 'Verify every sha256 (sha256sum -c) and move into releases/<id>',
          'ansible.builtin.command': { cmd: `sh -c '${VERIFY_INCOMING.replace(/'/g, `'"'"'`)}'` },
          when: "_ed_installed == 'none'",
        };
  const switchTasks =
    mode === 'raw'
      ? [raw('Switch current atomically (temp link + mv -T)', SWITCH_RAW, { when: '_ed_before != edgedistill_release' })]
      : [
          { name: 'Temp link current.tmp -> releases/<id>', 'ansible.builtin.file': { src: 'releases/{{ edgedistill_release }}', dest: '{{ edgedistill_path }}/current.tmp', state: 'link', force: true }, when: '_ed_before != edgedistill_release' },
          { name: 'Switch current atomically (mv -T)', 'ansible.builtin.command': { argv: ['mv', '-T', '{{ edgedistill_path }}/current.tmp', '{{ edgedistill_path }}/current'] }, when: '_ed_before != edgedistill_release' },
          { name: 'Temp link previous.tmp', 'ansible.builtin.file': { src: 'releases/{{ _ed_before }}', dest: '{{ edgedistill_path }}/previous.tmp', state: 'link', force: true }, when: "_ed_before != edgedistill_release and _ed_before != ''" },
          { name: 'Switch previous (mv -T)', 'ansible.builtin.command': { argv: ['mv', '-T', '{{ edgedistill_path }}/previous.tmp', '{{ edgedistill_path }}/previous'] }, when: "_ed_before != edgedistill_release and _ed_before != ''" },
        ];
  const run = (name: string, script: string, extra: Record<string, unknown> = {}) =>
    mode === 'raw' ? raw(name, script, extra) : { name, 'ansible.builtin.command': { cmd: `sh -c '${script.replace(/'/g, `'"'"'`)}'` }, ...extra };
  return [
    { name: 'Skip hosts of another device profile', 'ansible.builtin.meta': 'end_host', when: 'edgedistill_device is defined and edgedistill_device != edgedistill_bundle_device' },
    { name: 'Lock token', 'ansible.builtin.set_fact': { _ed_token: "{{ 'ansible' ~ ('%012x' | format(281474976710655 | random)) }}", _ed_controller: "{{ lookup('pipe', 'hostname') }}" } },
    { ...run('Take the device lock (mkdir .lock)', LOCK), register: '_ed_lock', changed_when: false },
    { name: 'Facts of the device', 'ansible.builtin.set_fact': { _ed_before: kv('current'), _ed_previous: kv('previous') } },
    {
      block: [
        ...upload,
        { ...run('Verify an existing release (sha256sum -c)', VERIFY_EXISTING), register: '_ed_existing', changed_when: false },
        { name: 'Installed?', 'ansible.builtin.set_fact': { _ed_installed: "{{ 'existing' if 'installed=existing' in _ed_existing.stdout else 'none' }}" } },
        ...uploadBundle,
        verifyIncoming,
        { name: 'Mark installed', 'ansible.builtin.set_fact': { _ed_installed: "{{ 'new' if _ed_installed == 'none' else _ed_installed }}" } },
        run('Record the activation (for recovery after a power cut)', ACTIVATE_MARK),
        ...switchTasks,
        { ...run('Run the on-device check', CHECK), register: '_ed_check', notify: 'edgedistill deployed' },
        { ...run('Prune old releases (keep edgedistill_keep)', PRUNE), register: '_ed_prune' },
      ],
      rescue: [
        run('Roll back to the previous release', ROLLBACK),
        { name: 'Report the failure', 'ansible.builtin.fail': { msg: "edgedistill deploy of {{ edgedistill_release }} failed on {{ inventory_hostname }} and was rolled back to {{ _ed_before | default('no release', true) }}: {{ ansible_failed_result.stdout | default(ansible_failed_result.msg | default('')) | trim }}" } },
      ],
      always: [run('Release the device lock', UNLOCK)],
    },
  ];
}

/** Writes DIR/site.yml, DIR/roles/edgedistill_deploy/{tasks,defaults,handlers,files}; atomically (temp dir + rename). */
export function emitAnsible(bundlePath: string, dirArg: string, o: EmitAnsibleOptions = {}): EmitAnsibleResult {
  const a = readBundleArchive(bundlePath);
  const mode = o.mode ?? 'raw';
  const dir = resolve(dirArg);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const role = join(tmp, 'roles', ROLE);
  for (const d of ['tasks', 'defaults', 'handlers', 'files']) mkdirSync(join(role, d), { recursive: true });
  const profile = a.manifest.profile as { deploy?: { path?: string; nodePath?: string; keepReleases?: number } };
  const bundleFile = basename(a.path);
  copyFileSync(a.path, join(role, 'files', bundleFile));
  writeFileSync(join(role, 'files', 'SHA256SUMS'), checksumList(a));
  const header = (what: string) => `# ${what}\n# Generated by \`edgedistill flash ${bundleFile} --emit-ansible\`: release ${a.id} for ${a.manifest.device}.\n`;
  const defaults = {
    edgedistill_ansible_mode: mode,
    edgedistill_path: profile.deploy?.path ?? '/home/pi/edgedistill',
    edgedistill_node: profile.deploy?.nodePath ?? '/usr/bin/node',
    edgedistill_keep: o.keep ?? profile.deploy?.keepReleases ?? 3,
    edgedistill_check_args: (o.checkArgs ?? []).map((x) => (/^[A-Za-z0-9_./=:@%+,-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`)).join(' '),
    edgedistill_release: a.id,
    edgedistill_bundle_device: a.manifest.device,
    edgedistill_bundle_file: bundleFile,
    edgedistill_bundle_sha256: a.sha256,
    edgedistill_entry: a.manifest.runtime?.entry ?? RUNTIME_ENTRY_PATH,
  };
  writeFileSync(join(role, 'defaults', 'main.yml'), header('Defaults; override per host or group in the inventory (edgedistill_path, edgedistill_node, edgedistill_ansible_mode).') + stringify(defaults));
  writeFileSync(
    join(role, 'tasks', 'main.yml'),
    header('edgedistill_ansible_mode: raw (no python needed on the device: raw tasks and scp from the controller) or modules (needs python3 there).') +
      stringify([{ name: 'Deploy with {{ edgedistill_ansible_mode }} tasks', 'ansible.builtin.include_tasks': '{{ edgedistill_ansible_mode }}.yml' }]),
  );
  writeFileSync(join(role, 'tasks', 'raw.yml'), header('Atomic install with raw tasks only (devices without python).') + stringify(tasks('raw'), { lineWidth: 0 }));
  writeFileSync(join(role, 'tasks', 'modules.yml'), header('Atomic install with Ansible modules (devices with python3).') + stringify(tasks('modules'), { lineWidth: 0 }));
  writeFileSync(
    join(role, 'handlers', 'main.yml'),
    header('Handlers.') + stringify([{ name: 'edgedistill deployed', 'ansible.builtin.debug': { msg: '{{ inventory_hostname }}: release {{ edgedistill_release }} is current and passed its check' } }]),
  );
  writeFileSync(
    join(tmp, 'site.yml'),
    header(`Usage: ansible-playbook -i INVENTORY site.yml   (hosts: all, or -e edgedistill_hosts=GROUP; --limit works too)`) +
      stringify([{ name: `Deploy edgedistill release ${a.id} (${a.manifest.device})`, hosts: "{{ edgedistill_hosts | default('all') }}", gather_facts: false, roles: [ROLE] }]),
  );
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, playbook: join(dir, 'site.yml'), role: join(dir, 'roles', ROLE), bundle: join(dir, 'roles', ROLE, 'files', bundleFile), release: a.id, device: a.manifest.device, mode };
}
