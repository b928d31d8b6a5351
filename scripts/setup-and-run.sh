#!/usr/bin/env bash
# README command (a): install dependencies, build, and run qtune's main job on the
# embedded default: accuracy-driven INT8 tuning of a small Fashion-MNIST CNN.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
build/qtune tune --config examples/fashion_mnist/fashion_mnist.yaml
