// Checkpoints (TensorBundle) and SavedModels on real files. Expected names,
// shapes and counts come from the data folder's index.txt / ops.txt dumps,
// values from the models' known formulas and from their other saved forms.
#include <cmath>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>

#include "frontends/tensorflow/tf_bundle.h"
#include "frontends/tensorflow/tf_source.h"
#include "qtune/error.h"
#include "tf_test_util.h"

using namespace qtune;
using test::input_error;
namespace fs = std::filesystem;

namespace {

std::string tf_data(const std::string &rel) {
  return test::shared_data("tf/" + rel);
}

const std::string kRegression = "small/regression_ckpt_frozen_savedmodel/";
const std::string kHalfPlusTwo = "small/half_plus_two_savedmodel/00000123";

DType listed_dtype(const std::string &s) {
  static const std::map<std::string, DType> m = {
      {"float", DType::f32}, {"int64", DType::i64}, {"int32", DType::i32}};
  return m.at(s);
}

// The bundle's entries equal the listing (names, dtypes, shapes, in key order).
void expect_index_matches(const tf::BundleIndex &index,
                          const std::vector<test::ListedVariable> &listed) {
  ASSERT_EQ(index.entries.size(), listed.size()) << index.path;
  ASSERT_FALSE(listed.empty());
  for (size_t i = 0; i < listed.size(); ++i) {
    const auto &[name, entry] = index.entries[i];
    EXPECT_EQ(name, listed[i].name);
    EXPECT_EQ(tf::dtype_from_tf(entry.dtype()), listed_dtype(listed[i].dtype)) << name;
    Shape shape;
    for (const auto &d : entry.shape().dim())
      shape.push_back(d.size());
    EXPECT_EQ(shape, listed[i].shape) << name;
  }
}

float scalar(const std::unordered_map<std::string, Tensor> &vars, const std::string &name) {
  auto it = vars.find(name);
  EXPECT_NE(it, vars.end()) << name;
  if (it == vars.end())
    return NAN;
  EXPECT_EQ(it->second.dtype(), DType::f32);
  EXPECT_EQ(it->second.numel(), 1);
  return it->second.data<float>()[0];
}

const tensorflow::NodeDef *find_node(const tensorflow::GraphDef &g, const std::string &name) {
  for (const auto &n : g.node())
    if (n.name() == name)
      return &n;
  return nullptr;
}

// A copy of the regression checkpoint's three files in a temp dir; returns the prefix.
std::string copy_regression_checkpoint(const fs::path &dir) {
  for (const char *f : {"model.meta", "model.index", "model.data-00000-of-00001"})
    fs::copy_file(tf_data(kRegression + "checkpoint/" + f), dir / f);
  return (dir / "model").string();
}

} // namespace

TEST(TfCheckpoint, RegressionThreeFormsAgree) {
  tf::ModelSource ckpt = tf::read_checkpoint(tf_data(kRegression + "checkpoint"));
  EXPECT_EQ(ckpt.graph.node_size(), 128); // ops.txt
  ASSERT_NE(find_node(ckpt.graph, "W"), nullptr);
  EXPECT_EQ(find_node(ckpt.graph, "W")->op(), "VariableV2");
  ASSERT_EQ(ckpt.variables.size(), 2u);
  EXPECT_TRUE(ckpt.inputs.empty());

  // The same prefix named directly and through its .meta file.
  tf::ModelSource by_prefix = tf::read_checkpoint(tf_data(kRegression + "checkpoint/model"));
  tf::ModelSource by_meta = tf::read_checkpoint(tf_data(kRegression + "checkpoint/model.meta"));
  tf::ModelSource frozen = tf::read_frozen_graph(tf_data(kRegression + "graphdef/frozen.pb"));
  tf::ModelSource saved = tf::read_saved_model(tf_data(kRegression + "saved_model"));
  EXPECT_EQ(saved.graph.node_size(), 148);
  EXPECT_EQ(saved.inputs, std::vector<std::string>{"X"});
  EXPECT_EQ(saved.outputs, std::vector<std::string>{"pred"});
  for (const char *name : {"W", "b"}) {
    float w = scalar(ckpt.variables, name);
    EXPECT_TRUE(std::isfinite(w));
    EXPECT_EQ(scalar(by_prefix.variables, name), w);
    EXPECT_EQ(scalar(by_meta.variables, name), w);
    EXPECT_EQ(scalar(saved.variables, name), w);
    const auto *c = find_node(frozen.graph, name); // freezing made the variable a Const
    ASSERT_NE(c, nullptr) << name;
    ASSERT_EQ(c->op(), "Const");
    EXPECT_EQ(tf::tensor_from_tf(c->attr().at("value").tensor(), name).data<float>()[0], w);
  }
}

TEST(TfSavedModel, HalfPlusTwoSnappyIndex) {
  std::string dir = tf_data(kHalfPlusTwo);
  tf::ModelSource sm = tf::read_saved_model(dir);
  EXPECT_EQ(sm.graph.node_size(), 74);
  EXPECT_EQ(sm.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(sm.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(scalar(sm.variables, "a"), 0.5f); // y = a * x + b
  EXPECT_EQ(scalar(sm.variables, "b"), 2.f);
  expect_index_matches(tf::read_bundle_index(dir + "/variables/variables.index"),
                       test::listed_variables(tf_data("small/half_plus_two_savedmodel/index.txt")));

  tf::ModelSource y3 = tf::read_saved_model(dir, "regress_x2_to_y3");
  EXPECT_EQ(y3.inputs, std::vector<std::string>{"x2"});
  EXPECT_EQ(y3.outputs, std::vector<std::string>{"y3"});
  tf::ModelSource classify = tf::read_saved_model(dir, "classify_x_to_y");
  EXPECT_EQ(classify.inputs, std::vector<std::string>{"tf_example"});
}

TEST(TfSavedModel, MissingSignatureListsTheAvailableOnes) {
  std::string msg =
      input_error([&] { tf::read_saved_model(tf_data(kHalfPlusTwo), "no_such_signature"); });
  EXPECT_NE(msg.find("saved_model.pb"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'no_such_signature'"), std::string::npos) << msg;
  for (const char *s : {"serving_default", "classify_x_to_y", "regress_x2_to_y3"})
    EXPECT_NE(msg.find(s), std::string::npos) << msg;
}

TEST(TfCheckpoint, ResnetReferenceBundlesMatchTheirListings) {
  const std::string base = "small/resnet_reference_ckpts/";
  for (const char *dir :
       {"resnet/batch_norm", "resnet/batch-size-32_bottleneck_version-1_width-8_channels-4",
        "resnet/batch-size-32_building_projection_version-2_width-8_channels-4",
        "reference_data_test/dense"}) {
    SCOPED_TRACE(dir);
    std::string prefix = tf_data(base + dir + "/model.ckpt");
    auto listed = test::listed_variables(tf_data(base + "ops.txt"), std::string("######## ") + dir);
    expect_index_matches(tf::read_bundle_index(prefix + ".index"), listed);
    auto vars = tf::read_bundle(prefix); // CRC-checked
    ASSERT_EQ(vars.size(), listed.size());
    for (const auto &[name, t] : vars) {
      bool variance = name.find("moving_variance") != std::string::npos;
      for (float v : t.to_f32_vector()) {
        ASSERT_TRUE(std::isfinite(v)) << name;
        if (variance) {
          EXPECT_GT(v, 0.f) << name;
        }
      }
    }
  }
}

TEST(TfCheckpoint, OdApiIndexesMatchTheirListings) {
  for (const char *dir :
       {"ssd_mobilenet_v1_coco_2018_01_28", "ssd_resnet50_v1_fpn_640x640_tf1.15_11classes",
        "faster_rcnn_inception_v2_tf1.7",
        "faster_rcnn_inception_v2_tf1.7/original_zoo_index_and_config",
        "mask_rcnn_inception_v2_tf1.14_1class"}) {
    SCOPED_TRACE(dir);
    std::string folder = tf_data(std::string("od_api/") + dir);
    tf::BundleIndex index = tf::read_bundle_index(folder + "/model.ckpt.index");
    EXPECT_EQ(index.header.num_shards(), 1);
    expect_index_matches(index, test::listed_variables(folder + "/index.txt"));
  }
}

TEST(TfCheckpoint, OdApiWithoutDataShardNamesTheShard) {
  std::string prefix = tf_data("od_api/ssd_mobilenet_v1_coco_2018_01_28/model.ckpt");
  std::string msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find(prefix + ".data-00000-of-00001"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing data shard"), std::string::npos) << msg;
}

TEST(TfCheckpoint, DamagedFilesAreOneLineInputErrors) {
  fs::path dir = test::temp_dir("damaged");
  std::string prefix = copy_regression_checkpoint(dir);
  std::string data = prefix + ".data-00000-of-00001", index = prefix + ".index";
  const std::string good_data = test::read_bytes(data), good_index = test::read_bytes(index);

  test::write_bytes(data, good_data.substr(0, 4)); // truncated: only W's 4 bytes
  std::string msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find(data), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated data shard"), std::string::npos) << msg;

  std::string flipped = good_data;
  flipped[5] ^= 0x10; // inside b's bytes
  test::write_bytes(data, flipped);
  msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find(data), std::string::npos) << msg;
  EXPECT_NE(msg.find("CRC mismatch in tensor 'b' at byte offset 4"), std::string::npos) << msg;
  test::write_bytes(data, good_data);

  std::string bad_index = good_index;
  bad_index[10] ^= 0x01; // inside the first (data) block
  test::write_bytes(index, bad_index);
  msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find(index), std::string::npos) << msg;
  EXPECT_NE(msg.find("data block at byte offset 0: CRC mismatch"), std::string::npos) << msg;

  bad_index = good_index;
  bad_index[bad_index.size() - 1] ^= 0x01; // the magic number
  test::write_bytes(index, bad_index);
  msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find("bad magic"), std::string::npos) << msg;
  test::write_bytes(index, good_index.substr(0, good_index.size() - 20));
  msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find(index), std::string::npos) << msg;
  test::write_bytes(index, good_index);

  fs::remove(data);
  msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find(data + ": missing data shard"), std::string::npos) << msg;

  test::write_bytes(prefix + ".meta", "garbage, not a MetaGraphDef");
  msg = input_error([&] { tf::read_checkpoint(prefix); });
  EXPECT_NE(msg.find(prefix + ".meta"), std::string::npos) << msg;

  msg = input_error([&] { tf::read_checkpoint(dir.string()); }); // no `checkpoint` file
  EXPECT_NE(msg.find("'checkpoint' file"), std::string::npos) << msg;
  fs::remove_all(dir);
}

// Any single flipped bit or truncation of a real index (plain and snappy-compressed)
// is either harmless or a qtune error: never a crash, a hang or a huge allocation.
TEST(TfCheckpoint, EveryDamagedIndexByteIsCaught) {
  fs::path dir = test::temp_dir("flips");
  for (const std::string &src : {tf_data(kRegression + "checkpoint/model"),
                                 tf_data(kHalfPlusTwo + "/variables/variables")}) {
    SCOPED_TRACE(src);
    std::string prefix = (dir / "v").string();
    fs::copy_file(src + ".data-00000-of-00001", prefix + ".data-00000-of-00001",
                  fs::copy_options::overwrite_existing);
    const std::string good = test::read_bytes(src + ".index");
    const auto reference = tf::read_bundle(src);
    int caught = 0, harmless = 0;
    auto check = [&](const std::string &bytes) {
      test::write_bytes(prefix + ".index", bytes);
      try {
        auto vars = tf::read_bundle(prefix);
        ASSERT_EQ(vars.size(), reference.size());
        for (const auto &[name, t] : reference)
          ASSERT_EQ(vars.at(name).to_f32_vector(), t.to_f32_vector()) << name;
        ++harmless;
      } catch (const Error &) {
        ++caught;
      }
    };
    for (size_t i = 0; i < good.size(); ++i) { // one bit of every byte
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << (i * 3 % 8)));
      check(bad);
    }
    for (size_t n = 0; n < good.size(); ++n)
      check(good.substr(0, n));
    EXPECT_EQ(caught + harmless, static_cast<int>(good.size()) * 2);
    // Harmless: flips in the footer's zero padding and in the metaindex block,
    // which a TensorBundle does not use; everything else is caught.
    EXPECT_GT(caught, static_cast<int>(good.size()) * 3 / 2);
  }
  fs::remove_all(dir);
}

// A `checkpoint` file written on the training machine names an absolute path that
// no longer exists: the prefix beside the file is used (as copied model-zoo
// folders need).
TEST(TfCheckpoint, StateFileWithAbsolutePathFromElsewhere) {
  fs::path dir = test::temp_dir("moved");
  copy_regression_checkpoint(dir);
  test::write_bytes((dir / "checkpoint").string(),
                    "model_checkpoint_path: \"/no/such/train/dir/model\"\n"
                    "all_model_checkpoint_paths: \"/no/such/train/dir/model\"\n");
  tf::ModelSource src = tf::read_checkpoint(dir.string());
  EXPECT_EQ(src.path, (dir / "model").string());
  EXPECT_EQ(src.variables.size(), 2u);
  fs::remove_all(dir);
}
