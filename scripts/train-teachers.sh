#!/usr/bin/env bash
# Reproduces the shipped teachers in models/<env-id-lowercase>/ (teacher.onnx, card.json,
# policy.json, metrics.jsonl) with the exact commands used. Not run in CI: on one core of the
# 2-core dev machine (tfjs wasm backend, SIMD, 1 thread) it takes about 1.5 hours in all; each
# card records its measured wall time. Runs are reproducible for a given seed and backend.
# Usage: scripts/train-teachers.sh [env-id ...]   (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=(node --import tsx pipeline/src/cli/main.ts train)
SELECTED=("$@")

train() { # env-id algo seed [extra flags...]
  local env=$1 algo=$2 seed=$3
  shift 3
  if [ ${#SELECTED[@]} -gt 0 ] && [[ " ${SELECTED[*]} " != *" $env "* ]]; then return 0; fi
  local out="models/$(echo "$env" | tr '[:upper:]' '[:lower:]')"
  echo "== $env ($algo, seed $seed) -> $out" >&2
  "${CLI[@]}" --env "$env" --algo "$algo" --seed "$seed" --hidden 256,256 --out "$out" "$@"
}

# Hyper-parameters are the presets in pipeline/src/train/presets.ts (RL-Zoo-like); the cards list
# every value used. --eval-every enables model selection on held-out reset seeds 10000+ (the
# reported score uses seeds 0..99).
train CartPole-v1 ppo 1
train MountainCar-v0 dqn 1
train Pendulum-v1 sac 1
train MountainCarContinuous-v0 sac 1 --checkpoint-every 2500
train Acrobot-v1 ppo 2 --steps 400000 --hp annealLr=true --eval-every 20000 --select-episodes 100
