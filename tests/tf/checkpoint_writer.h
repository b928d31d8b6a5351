#pragma once
// Writes TensorFlow V2 checkpoints (TensorBundle) for tests, and synthesizes one
// for a real graph whose weights are not available: the Object Detection API
// folders under tf/od_api hold a real model.ckpt.meta and model.ckpt.index but no
// data shard. synthesize_checkpoint() reads the real index (names, dtypes,
// shapes), fills every variable with deterministic values (seeded, scaled so
// activations stay finite: He-normal weights, positive batch-norm variances),
// and writes <out_dir>/model.ckpt.{index,data-00000-of-00001} beside a symlink
// to the real .meta, so read_checkpoint(<returned prefix>) runs the real graph.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "qtune/tensor.h"

namespace qtune::test {

// `prefix`.index (a LevelDB-format table: uncompressed blocks, CRC32C trailers)
// and `prefix`.data-00000-of-00001 holding `tensors` (numeric or string).
void write_bundle(const std::string &prefix,
                  const std::vector<std::pair<std::string, Tensor>> &tensors);

// A LevelDB-format table of `sorted` key/value pairs (keys in byte order) at
// `path`: uncompressed blocks with CRC32C trailers, as TensorFlow writes .index.
void write_table(const std::string &path,
                 const std::vector<std::pair<std::string, std::string>> &sorted);

// The deterministic value synthesize_checkpoint() gives variable `name`.
Tensor synthesize_variable(const std::string &name, DType dtype, const Shape &shape,
                           uint32_t seed = 1);

// See above; returns "<out_dir>/model.ckpt". `real_prefix` is e.g.
// ".../od_api/ssd_mobilenet_v1_coco_2018_01_28/model.ckpt".
std::string synthesize_checkpoint(const std::string &real_prefix, const std::string &out_dir,
                                  uint32_t seed = 1);

} // namespace qtune::test
