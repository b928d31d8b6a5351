#!/usr/bin/env bash
# Installs the Debian 12 packages qtune builds, tests and runs with (clang and its
# runtime libraries: the libFuzzer targets, scripts/fuzz.sh, which also uses
# GNU time for each target's CPU seconds).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  build-essential cmake g++ git pkg-config \
  libdnnl-dev ocl-icd-opencl-dev \
  libonnx-dev libprotobuf-dev protobuf-compiler \
  libyaml-cpp-dev nlohmann-json3-dev libturbojpeg0-dev libpng-dev zlib1g-dev libsnappy-dev \
  libcli11-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libonnx-testdata dataset-fashion-mnist doxygen \
  libopenmpi-dev openmpi-bin \
  clang libclang-rt-14-dev libomp-14-dev python3-minimal time
# Headless Chromium renders the HTML tuning report in tests/cli/test_report_html_cli.cpp
# (Debian 12: 16 packages, 122 MB download, 411 MB installed; under a minute here).
$SUDO apt-get install -y --no-install-recommends chromium
