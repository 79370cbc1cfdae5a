#!/usr/bin/env bash
# Starts one emulated ARM device reachable over real SSH on 127.0.0.1:
#   - its own root: a hard-linked copy of the cached root built by setup-host.sh (cheap: only
#     directories are new), with a deploy directory /home/pi/edgedistill;
#   - an sshd of its own (temporary host key, temporary client key, own config and log), bound to
#     127.0.0.1 only, whose ForceCommand runs every command chrooted into that root under qemu;
#   - a known_hosts file holding the host key (strict checking stays on) and an ssh_config file.
# Prints the connection facts as JSON (also written to DEVICE_DIR/devices/NAME/device.json).
#
# Usage: scripts/device/start.sh NAME [PORT] [--arch arm64|armhf] [--no-check]
# Example: sudo scripts/device/start.sh pi1 2201
#          ssh -F /var/tmp/edgedistill-device/devices/pi1/ssh_config pi1 'uname -m'   # aarch64
# Without PORT a free port is picked. Runs setup-host.sh first when the host is not ready.
# Env: EDGEDISTILL_DEVICE_DIR (default /var/tmp/edgedistill-device).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

name=; port=; arch=arm64; check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || die "--arch needs a value"; arch=$2; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    --no-check) check=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) if [ -z "$name" ]; then name=$1; elif [ -z "$port" ]; then port=$1; else die "too many arguments"; fi; shift ;;
  esac
done
[ -n "$name" ] || die "usage: $0 NAME [PORT] [--arch arm64|armhf]"
valid_name "$name"
arch_vars "$arch"
need_root "$@"
if [ -n "$port" ]; then
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port '$port'"
fi

if ! rootfs_ready || ! binfmt_ready || [ ! -d /run/sshd ]; then
  "$HERE/setup-host.sh" --arch "$ARCH" >&2
fi

dev=$DEVICE_DIR/devices/$name
lock_device "$name" -n || die "device '$name' is being started or stopped by another process"
if [ -f "$dev/sshd.pid" ] && sshd_alive "$dev"; then
  die "device '$name' is already running (port $(cat "$dev/port" 2>/dev/null)); stop it with: $HERE/stop.sh $name"
fi
[ -e "$dev" ] && remove_device_dir "$dev"
# From here on a failure leaves nothing behind: no sshd, no directory.
started_ok=0
trap '[ "$started_ok" = 1 ] || { kill_device "$dev"; remove_device_dir "$dev"; rm -f "$DEVICE_DIR/devices/.$name.lock"; }' EXIT

mkdir -p "$dev/ssh"
chmod 700 "$dev" "$dev/ssh"
# Hard links: a device costs its directories and inodes, not a copy of node and the libraries.
# Writers replace files (rsync, npm, editors write a temp file and rename), which leaves the cache alone.
cp -al "$ROOTFS" "$dev/root"
rm -f "$dev/root/.edgedistill-rootfs"

ssh-keygen -q -t ed25519 -N '' -C "edgedistill-device-$name-host" -f "$dev/ssh/host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -C "edgedistill-device-$name-client" -f "$dev/ssh/id_ed25519"
cp "$dev/ssh/id_ed25519.pub" "$dev/ssh/authorized_keys"
user=$(id -un)

# ForceCommand: a private mount namespace per session (proc, pts, shm vanish with it, nothing to
# clean up on the host), then chroot into the device root; qemu runs the ARM binaries via binfmt.
cat >"$dev/enter" <<EOF
#!/bin/bash
# ForceCommand of emulated device $name: runs the SSH client's command inside its ARM root.
root=$(printf '%q' "$dev/root")
if [ "\${EDGEDISTILL_DEVICE_NS:-}" != "\$root" ]; then
  EDGEDISTILL_DEVICE_NS=\$root exec /usr/bin/unshare --mount --uts --propagation private "\$0"
fi
echo $name >/proc/sys/kernel/hostname
# The root as a mount point of its own: df and /proc/mounts inside the device then see "/".
/bin/mount --bind "\$root" "\$root" || exit 1
/bin/mount -t proc proc "\$root/proc" || exit 1
/bin/mount --bind /dev/pts "\$root/dev/pts" 2>/dev/null || true
/bin/mount -t tmpfs -o mode=1777,size=64m tmpfs "\$root/dev/shm" 2>/dev/null || true
envs=(HOME=$DEVICE_HOME USER=root LOGNAME=root SHELL=/bin/sh PATH=$DEVICE_PATH_ENV LANG=C.UTF-8
  "TERM=\${TERM:-dumb}" "SSH_CONNECTION=\${SSH_CONNECTION:-}" "SSH_CLIENT=\${SSH_CLIENT:-}")
if [ -n "\${SSH_ORIGINAL_COMMAND:-}" ]; then
  exec /usr/bin/env -i "\${envs[@]}" /usr/sbin/chroot "\$root" /bin/sh -c 'cd "\$HOME" 2>/dev/null; eval "\$1"' sh "\$SSH_ORIGINAL_COMMAND"
fi
exec /usr/bin/env -i "\${envs[@]}" /usr/sbin/chroot "\$root" /bin/sh -c 'cd "\$HOME" 2>/dev/null; exec /bin/sh -l'
EOF
chmod 755 "$dev/enter"

# Pubkey logins as root need UsePAM when root's password is locked with '!' (sshd refuses those
# accounts without PAM); otherwise PAM stays off (no pam_loginuid or pam_systemd surprises).
use_pam=no
case "$(getent shadow "$user" | cut -d: -f2)" in '!'*) use_pam=yes ;; esac

write_sshd_config() {
  cat >"$dev/sshd_config" <<EOF
# sshd of emulated device $name (started by scripts/device/start.sh; not the system's sshd).
ListenAddress 127.0.0.1:$port
HostKey $dev/ssh/host_ed25519_key
PidFile $dev/sshd.pid
AuthorizedKeysFile $dev/ssh/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM $use_pam
# Its files sit under a world-writable directory (/var/tmp, /tmp), which StrictModes refuses.
StrictModes no
ForceCommand $dev/enter
# Path inside the device: the ForceCommand runs the ARM sftp-server there (scp and sftp use it).
Subsystem sftp /usr/lib/openssh/sftp-server
AllowTcpForwarding no
AllowStreamLocalForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PermitUserRC no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
# Fleet tests open many connections at once.
MaxStartups 64:30:256
MaxSessions 32
LogLevel INFO
EOF
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

auto_port=0; [ -z "$port" ] && auto_port=1
started=0
for attempt in 1 2 3 4 5; do
  [ "$auto_port" = 1 ] && port=$(pick_port)
  if port_busy "$port"; then
    [ "$auto_port" = 1 ] && continue
    die "port $port on 127.0.0.1 is in use"
  fi
  write_sshd_config
  /usr/sbin/sshd -t -f "$dev/sshd_config" || die "sshd rejected $dev/sshd_config"
  rm -f "$dev/sshd.pid"
  # sshd binds, then daemonizes and writes its pid file; a failed bind exits non-zero.
  if /usr/sbin/sshd -f "$dev/sshd_config" -E "$dev/sshd.log"; then
    for _ in $(seq 1 100); do [ -s "$dev/sshd.pid" ] && break; sleep 0.05; done
    [ -s "$dev/sshd.pid" ] && { started=1; break; }
  fi
  [ "$auto_port" = 1 ] || break
done
if [ "$started" != 1 ]; then
  tail -n 5 "$dev/sshd.log" >&2 2>/dev/null || true
  die "sshd for device '$name' did not start (port $port)"
fi
echo "$port" >"$dev/port"

hostkey=$(cut -d' ' -f1,2 "$dev/ssh/host_ed25519_key.pub")
if [ "$port" = 22 ]; then hosts="127.0.0.1,localhost"; else hosts="[127.0.0.1]:$port,[localhost]:$port"; fi
echo "$hosts $hostkey" >"$dev/ssh/known_hosts"

cat >"$dev/ssh_config" <<EOF
# Emulated device $name ($ARCH). Use: ssh -F "$dev/ssh_config" $name 'uname -m'
#   rsync -e 'ssh -F "$dev/ssh_config"' FILE $name:$DEVICE_DEPLOY_PATH/
Host $name
  HostName 127.0.0.1
  Port $port
  User $user
  IdentityFile "$dev/ssh/id_ed25519"
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile "$dev/ssh/known_hosts"
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  CheckHostIP no
  UpdateHostKeys no
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  BatchMode yes
  ConnectTimeout 30
  ServerAliveInterval 15
  LogLevel ERROR
EOF

if [ "$check" = 1 ]; then
  m=$(ssh -F "$dev/ssh_config" "$name" 'uname -m' </dev/null) \
    || { tail -n 5 "$dev/sshd.log" >&2; die "device '$name' does not answer over SSH"; }
  [ "$m" = "$UNAME_M" ] || die "device '$name' reports uname -m '$m', expected $UNAME_M"
fi

# JSON through node (present: the project needs it) so any path is escaped correctly.
NAME=$name ARCH=$ARCH UNAME_M=$UNAME_M PORT=$port USER_=$user DEV=$dev NODE_VERSION=$NODE_VERSION \
ROOTFS=$ROOTFS DEPLOY=$DEVICE_DEPLOY_PATH DHOME=$DEVICE_HOME DNODE=$DEVICE_NODE PID=$(cat "$dev/sshd.pid") \
node -e '
const e = process.env, fs = require("fs");
const j = {
  name: e.NAME, arch: e.ARCH, uname_m: e.UNAME_M, emulated: true,
  host: "127.0.0.1", port: Number(e.PORT), user: e.USER_,
  identity_file: e.DEV + "/ssh/id_ed25519",
  known_hosts_file: e.DEV + "/ssh/known_hosts",
  ssh_config_file: e.DEV + "/ssh_config", ssh_host_alias: e.NAME,
  device_root: e.DEV + "/root", rootfs: e.ROOTFS, deploy_path: e.DEPLOY, device_home: e.DHOME,
  node_path: e.DNODE, node_version: "v" + e.NODE_VERSION,
  upload: ["rsync", "scp", "sftp"],
  sshd_pid: Number(e.PID), sshd_log: e.DEV + "/sshd.log", device_dir: e.DEV,
  started_at: new Date().toISOString(),
};
const s = JSON.stringify(j, null, 2) + "\n";
const tmp = e.DEV + "/device.json.tmp";
const fd = fs.openSync(tmp, "w"); fs.writeSync(fd, s); fs.fsyncSync(fd); fs.closeSync(fd);
fs.renameSync(tmp, e.DEV + "/device.json");
process.stdout.write(s);
'
started_ok=1
