#!/usr/bin/env bash
# Stops every emulated device started by start.sh (see stop.sh).
#
# Usage: scripts/device/stop-all.sh [--keep]
# Example: sudo scripts/device/stop-all.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
[ "${1:-}" = -h ] || [ "${1:-}" = --help ] && { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
need_root "$@"
status=0
for d in "$DEVICE_DIR"/devices/*/; do
  [ -d "$d" ] || continue
  "$HERE/stop.sh" "$(basename "$d")" "$@" || status=1
done
exit $status
