#!/usr/bin/env bash
# Wall time of distributed evaluate and tune at 1..N ranks (issue 15; README
# "Scale-out with OpenMPI"). Not a test: prints one line per run. From the
# repository root, after a build with MPI:
#   bash bench/mpi_scaling.sh [max_ranks=2] [threads_per_rank=1]
# Each rank gets --threads T (inference) and is bound to its own cores when
# ranks x T fits the machine (--bind-to core), else unbound (--oversubscribe).
set -euo pipefail
MAX=${1:-2}
THREADS=${2:-1}
QTUNE=${QTUNE:-build/qtune}
COCO=${QTUNE_SHARED_DATA:-../shared/data}/coco/val2017_241
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CORES=$(nproc)
WS=$(mktemp -d)
trap 'rm -rf "$WS"' EXIT

launch() { # ranks, then the qtune arguments
  local n=$1
  shift
  if [ "$n" = 1 ]; then
    "$QTUNE" "$@"
  elif [ $((n * THREADS)) -le "$CORES" ]; then
    mpirun -np "$n" --bind-to core --map-by "slot:PE=$THREADS" "$QTUNE" "$@"
  else
    mpirun -np "$n" --oversubscribe --bind-to none "$QTUNE" "$@"
  fi
}

timed() { # label, ranks, qtune arguments...
  local label=$1 n=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  launch "$n" "$@" >"$WS/out.json" 2>"$WS/err.txt"
  t1=$(date +%s.%N)
  printf '%-28s ranks %d  threads/rank %d  wall %6.1f s  %s\n' "$label" "$n" "$THREADS" \
    "$(echo "$t1 - $t0" | bc)" "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("AP %.4f" % j["value"] if "value" in j else "best acc %.4f, %d trials" % (j["best"]["accuracy"], j["trials"]))' "$WS/out.json")"
}

echo "machine: $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $(seq 1 "$MAX"); do
  timed "evaluate YOLOX val2017_241" "$n" evaluate --config examples/coco/yolox_nano_eval.yaml \
    --annotations "$COCO/annotations/instances_val2017.json" --images "$COCO/val2017" \
    --threads "$THREADS" --json
  rm -rf "$WS/ws"
  timed "tune Fashion-MNIST" "$n" tune --config examples/fashion_mnist/fashion_mnist.yaml \
    --workspace "$WS/ws" --threads "$THREADS" --json
done
