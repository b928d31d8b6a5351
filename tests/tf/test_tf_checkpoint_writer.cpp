// The test checkpoint writer: its bundles read back through the real reader,
// and synthesized checkpoints of the real OD-API graphs load with read_checkpoint.
#include <cmath>
#include <filesystem>
#include <gtest/gtest.h>

#include "checkpoint_writer.h"
#include "frontends/tensorflow/tf_bundle.h"
#include "frontends/tensorflow/tf_source.h"
#include "qtune/error.h"
#include "tf_test_util.h"

using namespace qtune;
namespace fs = std::filesystem;

TEST(TfCheckpointWriter, RoundTripsEveryDtypeAcrossManyBlocks) {
  fs::path dir = test::temp_dir("writer_roundtrip");
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.emplace_back("a/f32", test::random_tensor({2, 3, 4}, 7));
  tensors.emplace_back("a/i64", Tensor::from_vector<int64_t>({3}, {-1, 0, int64_t(1) << 40}));
  tensors.emplace_back("a/u8", Tensor::from_vector<uint8_t>({2}, {0, 255}));
  tensors.emplace_back("a/bool", Tensor::from_vector<bool>({2}, {true, false}));
  tensors.emplace_back("a/f16", test::random_tensor({5}, 3).cast(DType::f16));
  tensors.emplace_back("a/scalar", Tensor::scalar_f32(2.5f));
  Tensor s(DType::string, {3});
  s.strings = {"", "abc", std::string(300, 'x')};
  tensors.emplace_back("a/string", s);
  // Enough long, prefix-sharing names for several data blocks and restart points.
  for (int i = 0; i < 400; ++i)
    tensors.emplace_back("FeatureExtractor/MobilenetV1/Conv2d_" + std::to_string(i) +
                             "/BatchNorm/moving_variance",
                         test::random_tensor({int64_t(i % 5 + 1)}, uint32_t(i)));
  std::string prefix = (dir / "model").string();
  test::write_bundle(prefix, tensors);
  EXPECT_GT(fs::file_size(prefix + ".index"), 3 * 4096u);

  auto back = tf::read_bundle(prefix);
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto &[name, t] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(back.count(name));
    const Tensor &r = back.at(name);
    EXPECT_EQ(r.dtype(), t.dtype());
    EXPECT_EQ(r.shape(), t.shape());
    if (t.dtype() == DType::string)
      EXPECT_EQ(r.strings, t.strings);
    else
      EXPECT_EQ(std::memcmp(r.raw(), t.raw(), t.nbytes()), 0);
  }
  // Keys come back sorted, header first (the table order TensorFlow requires).
  tf::BundleIndex index = tf::read_bundle_index(prefix + ".index");
  EXPECT_TRUE(std::is_sorted(index.entries.begin(), index.entries.end(),
                             [](auto &a, auto &b) { return a.first < b.first; }));
  fs::remove_all(dir);
}

TEST(TfCheckpointWriter, SynthesizedOdApiCheckpointsLoad) {
  for (const char *model :
       {"ssd_mobilenet_v1_coco_2018_01_28", "ssd_resnet50_v1_fpn_640x640_tf1.15_11classes"}) {
    SCOPED_TRACE(model);
    std::string real = test::shared_data(std::string("tf/od_api/") + model + "/model.ckpt");
    fs::path dir = test::temp_dir(std::string("synth_") + model);
    std::string prefix = test::synthesize_checkpoint(real, dir.string());
    tf::ModelSource src = tf::read_checkpoint(prefix);

    auto listed = test::listed_variables(fs::path(real).parent_path() / "index.txt");
    ASSERT_EQ(src.variables.size(), listed.size());
    for (const auto &v : listed) {
      ASSERT_TRUE(src.variables.count(v.name)) << v.name;
      const Tensor &t = src.variables.at(v.name);
      EXPECT_EQ(t.shape(), v.shape) << v.name;
      Tensor expected = test::synthesize_variable(v.name, t.dtype(), t.shape());
      ASSERT_EQ(std::memcmp(t.raw(), expected.raw(), t.nbytes()), 0) << v.name;
      if (t.dtype() != DType::f32)
        continue;
      bool variance = v.name.find("moving_variance") != std::string::npos;
      for (float x : t.span<float>()) {
        ASSERT_TRUE(std::isfinite(x)) << v.name;
        if (variance) {
          ASSERT_GT(x, 0.f) << v.name;
        }
      }
    }
    // The meta graph is the real one: its variable nodes are the bundle's tensors.
    int variable_nodes = 0;
    for (const auto &n : src.graph.node())
      if (n.op() == "VariableV2") {
        ++variable_nodes;
        EXPECT_TRUE(src.variables.count(n.name())) << n.name();
      }
    EXPECT_EQ(variable_nodes, static_cast<int>(listed.size()));
    fs::remove_all(dir);
  }
}

// A partitioned variable: the full tensor's entry lists its slices (stored under
// other keys); the reader refuses it with a clear UnsupportedError.
TEST(TfCheckpointWriter, PartitionedVariableIsUnsupported) {
  fs::path dir = test::temp_dir("partitioned");
  std::string prefix = (dir / "model").string();
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(1);
  tensorflow::BundleEntryProto full;
  full.set_dtype(tensorflow::DT_FLOAT);
  full.mutable_shape()->add_dim()->set_size(4);
  for (int start : {0, 2}) {
    auto *extent = full.add_slices()->add_extent();
    extent->set_start(start);
    extent->set_length(2);
  }
  test::write_table(prefix + ".index",
                    {{"", header.SerializeAsString()}, {"w", full.SerializeAsString()}});
  test::write_bytes(tf::bundle_data_path(prefix, 0, 1), "");
  try {
    tf::read_bundle(prefix);
    ADD_FAILURE() << "partitioned variable accepted";
  } catch (const UnsupportedError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(prefix + ".index"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'w' is partitioned into 2 slices"), std::string::npos) << msg;
  }
  fs::remove_all(dir);
}
