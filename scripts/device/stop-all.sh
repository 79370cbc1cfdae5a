#!/usr/bin/env bash
# Stops every emulated device started by start.sh (see stop.sh).
#
# Usage: scripts/device/stop-all.sh [--keep]
# Example: sudo scripts/device/stop-all.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
need_root "$@"
status=0
for d in "$DEVICE_DIR"/devices/*/; do
  [ -d "$d" ] || continue
  "$HERE/stop.sh" "$(basename "$d")" "$@" || status=1
done
exit $status
