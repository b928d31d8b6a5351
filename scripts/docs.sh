#!/usr/bin/env bash
# API docs from the public headers (docs/Doxyfile), warnings are errors.
# Output: build/doc/html/index.html. Prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
export QTUNE_DOC_DIR=${QTUNE_DOC_DIR:-build/doc}
mkdir -p "$QTUNE_DOC_DIR"
doxygen docs/Doxyfile
echo "docs: doxygen clean, $QTUNE_DOC_DIR/html/index.html ($(($(date +%s) - start)) s)"
