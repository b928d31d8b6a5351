#pragma once
// Calibration shared by the ranks of an MPI job (dist/comm.h), with the
// statistics one process would collect, bit for bit. The histograms of
// quant/observer.h depend on the order batches arrive (the range starts at the
// first batch's max|x| and doubles when exceeded, and a value is binned at the
// range of its moment), so the ranks take batches round-robin and, after each
// round, exchange every tensor's max|x| of that round: each rank then replays
// the single-process range of every tensor in batch order and bins its own
// batch at exactly the range one process had for it. Binning at a range and
// then doubling equals binning at the doubled range, so rank 0 merges the
// ranks' histograms by bringing them to the final range and adding counts;
// min/max/counts merge exactly, and the per-channel sums (bias correction) are
// re-added on rank 0 in batch order from each sample's sums.
#include <functional>
#include <memory>

#include "ir/graph.h"
#include "quant/calibration_stats.h"
#include "runtime/executor.h"
#include "tune/evaluator.h"

namespace qtune::tune {

// Every rank calls it at the same time. Batch g of the first `limit` samples
// (0: all) of `source` runs on rank g % size; `each_batch` is called before
// each batch this rank runs. Rank 0 gets the merged statistics, the others
// their own part.
quant::CalibrationStats calibrate_sharded(std::shared_ptr<const Graph> fp32,
                                          const ExecutorOptions &options, BatchSource &source,
                                          size_t limit, const std::function<void()> &each_batch);

} // namespace qtune::tune
