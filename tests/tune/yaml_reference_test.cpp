// The YAML reference page is the schema the loaders check keys against
// (data/yaml_schema.h): the checked-in docs/yaml_reference.md must equal what
// the schema prints, and the names the loaders dispatch on (decoders, metrics,
// strategies) must be the schema's.
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <yaml-cpp/yaml.h>

#include "../test_util.h"
#include "data/decoders.h"
#include "data/yaml_schema.h"
#include "qtune/error.h"
#include "tune/config.h"
#include "tune/metric_config.h"
#include "tune/strategy.h"

namespace qtune {
namespace {

using data::yaml::keys_of;
using data::yaml::names_under;

TEST(YamlReference, CheckedInPageIsTheSchema) {
  std::ifstream in(test::source_dir() + "/docs/yaml_reference.md");
  ASSERT_TRUE(in.good()) << "docs/yaml_reference.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(ss.str() == data::yaml::reference_markdown())
      << "docs/yaml_reference.md differs from the schema (src/data/yaml_schema.cpp); "
         "regenerate it: build/qtune config --reference > docs/yaml_reference.md";
}

TEST(YamlReference, DocumentsTheKeysUsersAskAbout) {
  const std::string md = data::yaml::reference_markdown();
  for (const char *key : {"`performance_only`", "`confidence`", "`cores_per_instance`",
                          "`num_of_instance`", "`bias_correction`", "`depthwise_range_check`",
                          "`category_ids`", "`skip_bad_images`", "`compare_label`"})
    EXPECT_NE(md.find(key), std::string::npos) << key;
  for (const char *section : {"## decoder.yolox", "## decoder.tf_ssd.anchor_generator",
                              "## metric.FidelityCOCOmAP", "## transform.Letterbox"})
    EXPECT_NE(md.find(section), std::string::npos) << section;
}

// Every decoder section is one make_decoder dispatches to, and it checks its
// keys against that section (an unknown key lists the schema's keys).
TEST(YamlReference, DecoderSectionsAreTheDecoders) {
  const std::vector<std::string> names = names_under("decoder");
  ASSERT_EQ(names.size(), 8u);
  for (const std::string &name : names) {
    YAML::Node n = YAML::Load("{" + name + ": {no_such_key: 1}}");
    try {
      data::make_decoder(n);
      ADD_FAILURE() << name << ": an unknown key was accepted";
    } catch (const InputError &e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("no_such_key"), std::string::npos) << what;
      EXPECT_NE(what.find("accepted: " + keys_of("decoder." + name).front()), std::string::npos)
          << what;
    }
  }
}

TEST(YamlReference, MetricAndStrategyNamesAreTheSchemas) {
  EXPECT_EQ(tune::metric_names(), names_under("metric"));
  std::string strategy_doc;
  for (const auto &k : data::yaml::schema_keys())
    if (k.section == "tuning.strategy" && k.key == "name")
      strategy_doc = std::string(k.description);
  for (const std::string &s : tune::strategy_names())
    EXPECT_NE(strategy_doc.find("`" + s + "`"), std::string::npos) << s;
}

// A key the schema lists is accepted where the loader reads the section.
TEST(YamlReference, DocumentedKeysLoad) {
  const std::string base = "model: {framework: onnx, path: m.onnx}\n";
  EXPECT_NO_THROW(
      tune::parse_config(base + "tuning: {exit_policy: {performance_only: true}}\n", "t.yaml"));
  EXPECT_NO_THROW(tune::parse_config(
      base + "evaluation: {performance: {configs: {cores_per_instance: 1, num_of_instance: 2}}}\n",
      "t.yaml"));
  // skip_bad_images is read by the data factory; the loader takes it too.
  EXPECT_NO_THROW(tune::parse_config(base + "quantization: {calibration: {dataloader: "
                                            "{skip_bad_images: true, dataset: {COCORaw: {}}}}}\n",
                                     "t.yaml"));
  EXPECT_THROW(
      tune::parse_config(base + "tuning: {exit_policy: {performance_onyl: true}}\n", "t.yaml"),
      InputError);
}

TEST(YamlReference, UnknownSectionIsAProgrammingError) {
  EXPECT_THROW(keys_of("no.such.section"), Error);
}

} // namespace
} // namespace qtune
