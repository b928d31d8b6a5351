#!/usr/bin/env bash
# CI step (issue 16): qtune as a package. Installs build/ to a temporary
# prefix, builds examples/api as a separate CMake project against it
# (find_package(qtune CONFIG)), runs both examples: Fashion-MNIST must meet its
# goal; the YOLOX-Nano COCO example's FP32 and INT8 AP (its own eval_func from
# the public dataloader, decoder and metric) must equal `qtune evaluate`'s
# within 1e-6. Also makes the Debian package (cpack -G DEB) and builds the
# README's "Use qtune from C++" snippet against it. Prints its wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
data=${QTUNE_SHARED_DATA:-../shared/data}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qtune_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install build --prefix "$prefix" >/dev/null
# Relocatable: nothing installed may name the build or source tree.
if grep -rl -e "$PWD" "$prefix/lib/cmake/qtune"; then
  echo "test_install: the installed CMake package names $PWD" >&2
  exit 1
fi
cmake -S examples/api -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$tmp/build" -j"$(nproc)" >/dev/null
echo "test_install: installed, examples/api built out of tree ($(($(date +%s) - start)) s)"

# The Debian package of the same tree (cpack -G DEB), unpacked into a
# directory (not installed): the README's "Use qtune from C++" CMake and code,
# copied as a user would, must build against it.
(cd build && cpack -G DEB -B "$tmp/deb" >/dev/null)
deb=$(ls "$tmp"/deb/qtune_*.deb)
dpkg-deb -x "$deb" "$tmp/debroot"
test -f "$tmp/debroot/usr/include/qtune/qtune.h"
snippet() { # the first ```$1 block of the README section
  awk -v lang="$1" '/^## Use qtune from C\+\+/{s=1; next} s && /^## /{exit}
    s && $0 == "```" lang {f=1; next} f && /^```$/{exit} f' README.md
}
mkdir -p "$tmp/readme"
snippet cmake >"$tmp/readme/CMakeLists.txt"
snippet cpp >"$tmp/readme/main.cpp"
cmake -S "$tmp/readme" -B "$tmp/readme/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/debroot/usr" \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$tmp/readme/build" -j"$(nproc)" >/dev/null
test -x "$tmp/readme/build/myapp"
echo "test_install: $(basename "$deb") ($(du -k "$deb" | cut -f1) KB); the README snippet" \
  "($(cat "$tmp/readme/CMakeLists.txt" "$tmp/readme/main.cpp" | wc -l) lines) builds against" \
  "it ($(($(date +%s) - start)) s)"

# (1) Fashion-MNIST: exit code 0 = goal met.
"$tmp/build/tune_fashion_mnist" examples/fashion_mnist/fashion_mnist.yaml \
  examples/fashion_mnist/fashion_mnist_cnn.onnx "$tmp/fmnist.onnx" 2>"$tmp/fmnist.log" |
  tee "$tmp/fmnist.out"
grep -q "(goal met)" "$tmp/fmnist.out"

# (2) YOLOX-Nano on COCO val2017_tiny with the example's own eval_func.
"$tmp/build/tune_yolox_coco" examples/coco/yolox_nano.yaml "$data" "$tmp/yolox_int8.onnx" \
  "$tmp/ws" 2>"$tmp/yolox.log" | tee "$tmp/yolox.out"
ap_of() { # AP @[.5:.95] of `qtune evaluate` (its JSON keeps full precision)
  build/qtune evaluate --config examples/coco/yolox_nano.yaml --model "$1" --json |
    python3 -c 'import json,sys; print("%.9f" % json.load(sys.stdin)["value"])'
}
fp32_cli=$(ap_of "$data/models/yolox_nano/yolox_nano.onnx")
int8_cli=$(ap_of "$tmp/yolox_int8.onnx")
fp32_api=$(awk '/^fp32_ap /{print $2}' "$tmp/yolox.out")
int8_api=$(awk '/^int8_ap /{print $2}' "$tmp/yolox.out")
echo "test_install: YOLOX-Nano AP example vs qtune evaluate: FP32 $fp32_api vs $fp32_cli," \
  "INT8 $int8_api vs $int8_cli"
python3 - "$fp32_api" "$fp32_cli" "$int8_api" "$int8_cli" <<'PY'
import sys
a = [float(x) for x in sys.argv[1:]]
for api, cli, what in ((a[0], a[1], "FP32"), (a[2], a[3], "INT8")):
    if abs(api - cli) > 1e-6:
        sys.exit(f"test_install: {what} AP of the example {api} != qtune evaluate {cli}")
PY
echo "test_install: ok ($(($(date +%s) - start)) s)"
