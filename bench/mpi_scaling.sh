#!/usr/bin/env bash
# Wall time of distributed evaluate and tune at 1..N ranks (issue 15; README
# "Scale-out with OpenMPI"). Not a test: prints one line per run. From the
# repository root, after a build with MPI:
#   bash bench/mpi_scaling.sh [max_ranks=2] [threads_per_rank=1] [cases=all|eval|tune|yolox-tune]
# Each rank gets --threads T (inference) and is bound to its own cores when
# ranks x T fits the machine (--bind-to core), else unbound (--oversubscribe).
# The YOLOX tune is examples/coco/yolox_nano_241.yaml with strategy basic,
# max_trials 3 and a goal it cannot meet (all 3 trials run: trial 1 on all
# ranks, then trials 2 and 3, which are independent): at N ranks it runs once
# with each trial on all ranks (--trial-groups 1) and once with N rank groups.
set -euo pipefail
MAX=${1:-2}
THREADS=${2:-1}
CASES=${3:-all}
SHARED=$(realpath "${QTUNE_SHARED_DATA:-../shared/data}")
QTUNE=${QTUNE:-build/qtune}
COCO=$SHARED/coco/val2017_241
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
  local rc=0
  launch "$n" "$@" >"$WS/out.json" 2>"$WS/err.txt" || rc=$?
  t1=$(date +%s.%N)
  if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then # 3: tune's goal not met
    echo "$label at $n ranks failed (exit $rc):" && tail -5 "$WS/err.txt" && return 1
  fi
  printf '%-36s ranks %d  threads/rank %d  wall %6.1f s  %s\n' "$label" "$n" "$THREADS" \
    "$(echo "$t1 - $t0" | bc)" "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("AP %.4f" % j["value"] if "value" in j else "best acc %.4f, %d trials, %d evaluations" % (j["best"]["accuracy"], j["trials"], j["full_evaluations"]))' "$WS/out.json")"
}

sed -e "s#\.\./shared/data#$SHARED#" -e 's/name: sensitivity/name: basic/' \
  -e 's/max_trials: 100/max_trials: 3/' -e 's/relative: 0.01/relative: 0.0001/' \
  examples/coco/yolox_nano_241.yaml >"$WS/yolox_tune.yaml"

echo "machine: $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
want() { [ "$CASES" = all ] || [ "$CASES" = "$1" ]; }
for n in $(seq 1 "$MAX"); do
  if want eval; then
    timed "evaluate YOLOX val2017_241" "$n" evaluate --config examples/coco/yolox_nano_eval.yaml \
      --annotations "$COCO/annotations/instances_val2017.json" --images "$COCO/val2017" \
      --threads "$THREADS" --json
  fi
  if want tune; then
    rm -rf "$WS/ws"
    timed "tune Fashion-MNIST" "$n" tune --config examples/fashion_mnist/fashion_mnist.yaml \
      --workspace "$WS/ws" --threads "$THREADS" --json
  fi
  if want yolox-tune; then
    for groups in $( ([ "$n" = 1 ] && echo 1) || echo 1 "$n"); do
      rm -rf "$WS/ws"
      timed "tune YOLOX 3 trials, groups $groups" "$n" tune --config "$WS/yolox_tune.yaml" \
        --workspace "$WS/ws" --threads "$THREADS" --trial-groups "$groups" --report-samples 0 \
        --json
    done
  fi
done
