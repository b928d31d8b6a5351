#!/usr/bin/env bash
# Configures and builds qtune into build/ (the CLI lands at build/qtune).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
