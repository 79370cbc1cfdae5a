#!/usr/bin/env bash
# Stops an emulated device started by start.sh: ends its sshd, its sessions and anything still
# running inside its root (by pid), then removes its directory (root copy, keys, logs).
#
# Usage: scripts/device/stop.sh NAME [--keep]
# Example: sudo scripts/device/stop.sh pi1
# --keep leaves the directory (logs, deployed files) for inspection. Stopping a stopped device is fine.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

name=; keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$name" ] || die "too many arguments"; name=$1; shift ;;
  esac
done
[ -n "$name" ] || die "usage: $0 NAME [--keep]"
valid_name "$name"
need_root "$@"

dev=$DEVICE_DIR/devices/$name
[ -e "$dev" ] || { log "device '$name' is not running"; exit 0; }
lock_device "$name" "-w 60" || die "device '$name' is locked by another start/stop"
kill_device "$dev"
rm -f "$dev/sshd.pid"
if [ "$keep" = 1 ]; then log "device '$name' stopped; files kept in $dev"
else remove_device_dir "$dev"; rm -f "$DEVICE_DIR/devices/.$name.lock"; log "device '$name' stopped and removed"; fi
