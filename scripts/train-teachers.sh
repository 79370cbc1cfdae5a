#!/usr/bin/env bash
# Reproduces the shipped teachers in models/<env-id-lowercase>/ (teacher.onnx, card.json,
# policy.json, metrics.jsonl) with the exact commands used. Not run in CI: it takes about an hour of
# one core (tfjs wasm backend, 1 thread); the cards record the measured wall time of each run.
# Usage: scripts/train-teachers.sh [env-id ...]   (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=(node --import tsx pipeline/src/cli/main.ts train)

train() { # env-id algo seed [extra flags...]
  local env=$1 algo=$2 seed=$3
  shift 3
  local out="models/$(echo "$env" | tr '[:upper:]' '[:lower:]')"
  echo "== $env ($algo, seed $seed) -> $out" >&2
  "${CLI[@]}" --env "$env" --algo "$algo" --seed "$seed" --hidden 256,256 --out "$out" "$@"
}

want() { [ $# -eq 0 ] || [[ " ${SELECTED[*]} " == *" $1 "* ]]; }
SELECTED=("$@")
want_env() { [ ${#SELECTED[@]} -eq 0 ] || [[ " ${SELECTED[*]} " == *" $1 "* ]]; }

# The commands (presets live in pipeline/src/train/presets.ts; --hp overrides are spelled out here).
want_env CartPole-v1 && train CartPole-v1 ppo 1
