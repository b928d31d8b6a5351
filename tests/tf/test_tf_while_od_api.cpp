// The while-frame pass on the real Object Detection API graphs (the seed's
// model.ckpt.meta files): every TF node becomes a generic tf: node (no op
// conversion, which is the importer's job), pruned to what the detection outputs
// need, and build_while_loops must turn each while frame into one tf:While with
// no loop plumbing left anywhere, keeping the Exit names consumers read.
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <sstream>

#include "../test_util.h"
#include "frontends/tensorflow/tf_control_flow.h"
#include "proto/tf_graph.pb.h"

namespace qtune {
namespace {

tensorflow::GraphDef read_meta_graph(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  tensorflow::MetaGraphDef meta;
  EXPECT_TRUE(meta.ParseFromString(ss.str())) << path;
  return meta.graph_def();
}

// "n:0" -> "n", "n:2" stays; control inputs ("^n") are dropped (empty).
std::string data_input(const std::string &in) {
  if (in.empty() || in[0] == '^')
    return "";
  return in.ends_with(":0") ? in.substr(0, in.size() - 2) : in;
}

std::string node_of(const std::string &value) {
  return value.substr(0, value.find(':'));
}

// Generic flat graph of the nodes the outputs need (data edges only).
Graph flat_graph(const tensorflow::GraphDef &gd, const std::vector<std::string> &outputs) {
  std::unordered_map<std::string, const tensorflow::NodeDef *> by_name;
  for (const auto &n : gd.node())
    by_name[n.name()] = &n;
  std::set<std::string> keep;
  std::vector<std::string> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    std::string name = stack.back();
    stack.pop_back();
    if (!keep.insert(name).second)
      continue;
    for (const auto &in : by_name.at(name)->input())
      if (!data_input(in).empty())
        stack.push_back(node_of(data_input(in)));
  }
  std::unordered_map<std::string, int> num_outputs;
  for (const auto &name : keep)
    for (const auto &in : by_name.at(name)->input())
      if (std::string v = data_input(in); !v.empty() && v.find(':') != std::string::npos) {
        int k = std::stoi(v.substr(v.find(':') + 1));
        num_outputs[node_of(v)] = std::max(num_outputs[node_of(v)], k + 1);
      }
  Graph g;
  g.source = "od_api";
  for (const auto &name : keep) {
    const auto &def = *by_name.at(name);
    if (def.op() == "Placeholder") {
      ValueInfo vi;
      vi.name = name;
      g.inputs.push_back(vi);
      continue;
    }
    Node n;
    n.name = name;
    n.op_type = def.op();
    n.domain = "tf";
    for (const auto &in : def.input())
      if (!data_input(in).empty())
        n.inputs.push_back(data_input(in));
    n.outputs = {name};
    for (int k = 1; k < std::max(num_outputs[name], 2); ++k)
      n.outputs.push_back(name + ":" + std::to_string(k));
    if (auto it = def.attr().find("frame_name"); it != def.attr().end())
      n.attrs["frame_name"] = it->second.s();
    if (auto it = def.attr().find("is_constant"); it != def.attr().end())
      n.attrs["is_constant"] = int64_t(it->second.b());
    g.nodes.push_back(std::move(n));
  }
  for (const auto &o : outputs) {
    ValueInfo vi;
    vi.name = o;
    g.outputs.push_back(vi);
  }
  return g;
}

// Loop plumbing left in g or any sub-graph; tf.cond Switch/Merge are counted apart.
void count_ops(const Graph &g, std::map<std::string, int> &ops) {
  for (const Node &n : g.nodes) {
    ops[n.op_type]++;
    for (const auto &[k, a] : n.attrs)
      if (auto *sub = std::get_if<std::shared_ptr<Graph>>(&a))
        count_ops(**sub, ops);
  }
}

struct Case {
  const char *dir;
  int frames; // while frames the detection outputs need
  bool masks;
};

class OdApiWhile : public ::testing::TestWithParam<Case> {};

TEST_P(OdApiWhile, EveryFrameBecomesOneWhile) {
  const Case &c = GetParam();
  auto gd =
      read_meta_graph(test::shared_data(std::string("tf/od_api/") + c.dir + "/model.ckpt.meta"));
  std::vector<std::string> outputs{"num_detections", "detection_boxes", "detection_scores",
                                   "detection_classes"};
  if (c.masks)
    outputs.push_back("detection_masks");
  Graph g = flat_graph(gd, outputs);
  std::set<std::string> frames, exits;
  for (const Node &n : g.nodes) {
    if (n.op_type == "Enter")
      frames.insert(n.attr_string("frame_name", ""));
    if (n.op_type == "Exit")
      exits.insert(n.name);
  }
  ASSERT_EQ(static_cast<int>(frames.size()), c.frames);
  tf::build_while_loops(g);
  g.toposort();
  std::map<std::string, int> ops;
  count_ops(g, ops);
  EXPECT_EQ(ops["While"], c.frames);
  for (const char *op : {"Enter", "Exit", "NextIteration", "LoopCond"})
    EXPECT_EQ(ops[op], 0) << op;
  std::set<std::string> while_outputs;
  for (const Node &n : g.nodes)
    if (n.op_type == "While") {
      EXPECT_TRUE(frames.count(n.attr_string("frame_name", ""))) << n.name;
      for (const auto &o : n.outputs)
        if (!o.empty())
          while_outputs.insert(o);
    }
  EXPECT_EQ(while_outputs, exits);
}

INSTANTIATE_TEST_SUITE_P(Graphs, OdApiWhile,
                         ::testing::Values(Case{"ssd_mobilenet_v1_coco_2018_01_28", 2, false},
                                           Case{"ssd_resnet50_v1_fpn_640x640_tf1.15_11classes", 2,
                                                false},
                                           Case{"faster_rcnn_inception_v2_tf1.7", 5, false},
                                           Case{"mask_rcnn_inception_v2_tf1.14_1class", 5, true}),
                         [](const auto &info) {
                           return std::string(info.param.dir).substr(0, 8) +
                                  std::to_string(info.index);
                         });

} // namespace
} // namespace qtune
