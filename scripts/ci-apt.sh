#!/usr/bin/env bash
# Installs the Debian packages the system suites need. Idempotent; needs root (as in CI).
set -euo pipefail
PKGS=(python3-onnx python3-torch)
PKGS+=(qemu-user-static binfmt-support openssh-server rsync)  # emulated ARM devices (scripts/device)
PKGS+=(chromium)
PKGS+=(ansible)
# OpenBLAS for the PyTorch peer of `npm run bench` (Debian's torch calls libblas.so.3; this makes it OpenBLAS).
PKGS+=(libopenblas0-pthread)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
