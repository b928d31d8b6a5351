#pragma once
// TensorBundle, TensorFlow's V2 checkpoint format (internal): `<prefix>.index`
// is a table (tf_table.h) whose "" key holds a BundleHeaderProto and every other
// key a tensor name -> BundleEntryProto locating the tensor's bytes in
// `<prefix>.data-<shard>-of-<num_shards>` (5 digits each), with their masked
// CRC32C.
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proto/tf_graph.pb.h"
#include "qtune/tensor.h"

namespace qtune::tf {

struct BundleIndex {
  std::string path; // the .index file
  tensorflow::BundleHeaderProto header;
  // Tensor name -> entry, in key order (the header excluded).
  std::vector<std::pair<std::string, tensorflow::BundleEntryProto>> entries;
};

BundleIndex read_bundle_index(const std::string &index_path);

// "<prefix>.data-00000-of-00001"
std::string bundle_data_path(const std::string &prefix, int shard, int num_shards);

// Every tensor of the bundle at `prefix`, by name, CRC-checked.
std::unordered_map<std::string, Tensor> read_bundle(const std::string &prefix);

} // namespace qtune::tf
