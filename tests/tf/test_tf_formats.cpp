// TensorFlow file-format readers on real files: frozen GraphDefs (binary and
// text), TensorProto encodings. Expected counts come from the dumps
// (ops.txt / index.txt) made with TensorFlow's own protos, not by qtune.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <set>

#include "frontends/tensorflow/tf_source.h"
#include "qtune/error.h"
#include "tf_test_util.h"

using namespace qtune;
using test::input_error;
using test::temp_dir;
namespace fs = std::filesystem;

namespace {

std::string tf_data(const std::string &rel) {
  return test::shared_data("tf/" + rel);
}

const tensorflow::NodeDef *find_node(const tensorflow::GraphDef &g, const std::string &name) {
  for (const auto &n : g.node())
    if (n.name() == name)
      return &n;
  return nullptr;
}

int count_op(const tensorflow::GraphDef &g, const std::string &op) {
  int k = 0;
  for (const auto &n : g.node())
    k += n.op() == op;
  return k;
}

struct ConstStats {
  int consts = 0;
  size_t content_bytes = 0; // bytes of the Consts stored as tensor_content
};

// Converts every Const's value (fails the test on any error).
ConstStats convert_consts(const tensorflow::GraphDef &g, const std::string &file) {
  ConstStats s;
  for (const auto &n : g.node()) {
    if (n.op() != "Const")
      continue;
    ++s.consts;
    const auto &value = n.attr().at("value").tensor();
    Tensor t = tf::tensor_from_tf(value, file + ": node '" + n.name() + "'");
    EXPECT_EQ(t.dtype(), tf::dtype_from_tf(n.attr().at("dtype").type())) << n.name();
    if (!value.tensor_content().empty()) {
      s.content_bytes += t.nbytes();
      EXPECT_EQ(t.nbytes(), value.tensor_content().size()) << n.name();
    }
  }
  return s;
}

} // namespace

TEST(TfFrozenGraph, MnistMlp) {
  std::string file = tf_data("small/frozen_mnist_mlp/mnist.pb");
  tf::ModelSource src = tf::read_frozen_graph(file);
  EXPECT_EQ(src.graph.node_size(), 24);
  EXPECT_EQ(src.path, file);
  const auto *x = find_node(src.graph, "x_input");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->op(), "Placeholder");
  const auto &shape = x->attr().at("shape").shape();
  ASSERT_EQ(shape.dim_size(), 2);
  EXPECT_EQ(shape.dim(0).size(), -1);
  EXPECT_EQ(shape.dim(1).size(), 784);
  ASSERT_NE(find_node(src.graph, "output"), nullptr);
  EXPECT_EQ(find_node(src.graph, "output")->op(), "ArgMax");
  ConstStats s = convert_consts(src.graph, file);
  EXPECT_EQ(s.consts, 7);
  EXPECT_EQ(s.content_bytes, 2678824u);
}

TEST(TfFrozenGraph, CnnCifar32) {
  std::string file = tf_data("small/frozen_cnn_cifar32/frozen_graph.pb");
  tf::ModelSource src = tf::read_frozen_graph(file);
  EXPECT_EQ(src.graph.node_size(), 47);
  ASSERT_NE(find_node(src.graph, "dense_1/Softmax"), nullptr);
  ConstStats s = convert_consts(src.graph, file);
  EXPECT_EQ(s.consts, 14);
  EXPECT_EQ(s.content_bytes, 2515240u);
}

TEST(TfFrozenGraph, FaceDetectorQuint8ConstsFeedDequantize) {
  std::string file = test::shared_data("models/face_ssd_tf/opencv_face_detector_uint8.pb");
  tf::ModelSource src = tf::read_frozen_graph(file);
  convert_consts(src.graph, file);
  int dequantize = 0;
  for (const auto &n : src.graph.node()) {
    if (n.op() != "Dequantize")
      continue;
    ++dequantize;
    const auto *w = find_node(src.graph, n.input(0));
    ASSERT_NE(w, nullptr) << n.name();
    ASSERT_EQ(w->op(), "Const");
    EXPECT_EQ(w->attr().at("dtype").type(), tensorflow::DT_QUINT8);
    Tensor t = tf::tensor_from_tf(w->attr().at("value").tensor(), w->name());
    EXPECT_EQ(t.dtype(), DType::u8);
    EXPECT_GT(t.numel(), 0);
  }
  EXPECT_GT(dequantize, 10);
}

TEST(TfFrozenGraph, FaceDetectorTextFormatMatchesBinaryTopology) {
  std::string dir = test::shared_data("models/face_ssd_tf/");
  tf::ModelSource text = tf::read_frozen_graph(dir + "opencv_face_detector.pbtxt");
  tf::ModelSource bin = tf::read_frozen_graph(dir + "opencv_face_detector_uint8.pb");
  ASSERT_GT(text.graph.node_size(), 50);
  EXPECT_EQ(text.graph.node(0).name(), "data");
  EXPECT_EQ(text.graph.node(0).op(), "Placeholder");
  // The text file describes the same network: its convolutions are the binary's.
  std::set<std::string> bin_convs, text_convs;
  for (const auto &n : bin.graph.node())
    if (n.op() == "Conv2D")
      bin_convs.insert(n.name());
  for (const auto &n : text.graph.node())
    if (n.op() == "Conv2D")
      text_convs.insert(n.name());
  EXPECT_GT(text_convs.size(), 10u);
  EXPECT_EQ(text_convs, bin_convs);
}

TEST(TfFrozenGraph, AiySsdMobilenet) {
  std::string file =
      tf_data("od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/frozen_inference_graph.pb");
  tf::ModelSource src = tf::read_frozen_graph(file);
  for (const char *name : {"image_tensor", "num_detections", "detection_boxes", "detection_scores",
                           "detection_classes"})
    EXPECT_NE(find_node(src.graph, name), nullptr) << name;
  EXPECT_EQ(find_node(src.graph, "image_tensor")->op(), "Placeholder");
  EXPECT_GT(count_op(src.graph, "Enter"), 0); // while-loop post-processing
  ConstStats s = convert_consts(src.graph, file);
  EXPECT_LT(s.content_bytes, fs::file_size(file));
  // Every convolution's filter is a rank-4 float constant (through Identity reads).
  int convs = 0;
  size_t filter_bytes = 0;
  for (const auto &n : src.graph.node()) {
    if (n.op() != "Conv2D" && n.op() != "DepthwiseConv2dNative")
      continue;
    ++convs;
    const auto *w = find_node(src.graph, n.input(1));
    while (w && w->op() == "Identity")
      w = find_node(src.graph, w->input(0));
    ASSERT_NE(w, nullptr) << n.name();
    ASSERT_EQ(w->op(), "Const") << n.name();
    Tensor t = tf::tensor_from_tf(w->attr().at("value").tensor(), w->name());
    EXPECT_EQ(t.dtype(), DType::f32);
    EXPECT_EQ(t.rank(), 4) << w->name();
    filter_bytes += t.nbytes();
  }
  EXPECT_GT(convs, 20);
  EXPECT_GT(filter_bytes, 0u);
  EXPECT_LE(filter_bytes, s.content_bytes);
}

TEST(TfFrozenGraph, GarbageIsOneLineInputError) {
  fs::path d = temp_dir("garbage");
  std::string bad = (d / "garbage.pb").string();
  {
    std::ofstream f(bad, std::ios::binary);
    for (int i = 0; i < 256; ++i)
      f.put(static_cast<char>((i * 7919 + 13) & 0xff));
  }
  std::string msg = input_error([&] { tf::read_frozen_graph(bad); });
  EXPECT_NE(msg.find(bad), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset"), std::string::npos) << msg;

  // A real GraphDef cut in the middle of a node.
  std::string cut = (d / "cut.pb").string();
  {
    std::ifstream in(tf_data("small/frozen_mnist_mlp/mnist.pb"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(cut, std::ios::binary).write(bytes.data(), 1000);
  }
  msg = input_error([&] { tf::read_frozen_graph(cut); });
  EXPECT_NE(msg.find(cut), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset"), std::string::npos) << msg;

  std::string text = (d / "bad.pbtxt").string();
  std::ofstream(text)
      << "node {\n  name: \"a\"\n  op: \"Const\"\n  attr { key: \"x\" value { i: \"no\" } }\n}\n";
  msg = input_error([&] { tf::read_frozen_graph(text); });
  EXPECT_NE(msg.find(text), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 4:"), std::string::npos) << msg;

  std::string empty = (d / "empty.pb").string();
  std::ofstream(empty, std::ios::binary).flush();
  msg = input_error([&] { tf::read_frozen_graph(empty); });
  EXPECT_NE(msg.find("no nodes"), std::string::npos) << msg;

  msg = input_error([&] { tf::read_frozen_graph((d / "missing.pb").string()); });
  EXPECT_NE(msg.find("missing.pb"), std::string::npos) << msg;
  fs::remove_all(d);
}

// Fields our proto leaves undeclared (function library, debug info, newer NodeDef
// fields) are skipped in text format, as in the binary parser.
TEST(TfFrozenGraph, TextFormatSkipsUnknownFields) {
  fs::path d = temp_dir("unknown_fields");
  std::string file = (d / "g.pbtxt").string();
  std::ofstream(file) << "node {\n  name: \"x\"\n  op: \"Placeholder\"\n"
                         "  experimental_debug_info { original_node_names: \"y\" }\n"
                         "  attr { key: \"dtype\" value { type: DT_FLOAT } }\n}\n"
                         "library { function { signature { name: \"f\" } } }\n"
                         "versions { producer: 27 }\n";
  tf::ModelSource src = tf::read_frozen_graph(file);
  ASSERT_EQ(src.graph.node_size(), 1);
  EXPECT_EQ(src.graph.node(0).attr().at("dtype").type(), tensorflow::DT_FLOAT);
  EXPECT_EQ(src.graph.versions().producer(), 27);
  fs::remove_all(d);
}

// TensorProto encodings, built by hand from the documented field semantics.
TEST(TfTensorProto, Encodings) {
  tensorflow::TensorProto p;
  p.set_dtype(tensorflow::DT_FLOAT);
  p.mutable_tensor_shape()->add_dim()->set_size(2);
  p.mutable_tensor_shape()->add_dim()->set_size(3);
  p.add_float_val(1.5f); // one value fills the shape
  Tensor t = tf::tensor_from_tf(p, "n");
  ASSERT_EQ(t.shape(), (Shape{2, 3}));
  for (float v : t.span<float>())
    EXPECT_EQ(v, 1.5f);

  p.add_float_val(-2.f); // fewer values than elements: the last one repeats
  t = tf::tensor_from_tf(p, "n");
  EXPECT_EQ(t.to_f32_vector(), (std::vector<float>{1.5f, -2.f, -2.f, -2.f, -2.f, -2.f}));

  tensorflow::TensorProto h;
  h.set_dtype(tensorflow::DT_HALF);
  h.mutable_tensor_shape()->add_dim()->set_size(2);
  h.add_half_val(0x3C00); // 1.0
  h.add_half_val(0xC000); // -2.0
  t = tf::tensor_from_tf(h, "h");
  EXPECT_EQ(t.dtype(), DType::f16);
  EXPECT_EQ(t.to_f32_vector(), (std::vector<float>{1.f, -2.f}));
  h.set_dtype(tensorflow::DT_BFLOAT16);
  h.set_half_val(0, 0x3FC0); // 1.5 in bfloat16
  t = tf::tensor_from_tf(h, "h");
  EXPECT_EQ(t.dtype(), DType::bf16);
  EXPECT_EQ(t.to_f32_vector()[0], 1.5f);

  tensorflow::TensorProto q;
  q.set_dtype(tensorflow::DT_QUINT8);
  q.mutable_tensor_shape()->add_dim()->set_size(3);
  for (int v : {0, 128, 255})
    q.add_int_val(v);
  t = tf::tensor_from_tf(q, "q");
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.to_i64_vector(), (std::vector<int64_t>{0, 128, 255}));

  tensorflow::TensorProto i64; // scalar int64, no shape dims
  i64.set_dtype(tensorflow::DT_INT64);
  i64.add_int64_val(int64_t(1) << 40);
  t = tf::tensor_from_tf(i64, "s");
  EXPECT_EQ(t.rank(), 0);
  EXPECT_EQ(t.get_i64(0), int64_t(1) << 40);

  tensorflow::TensorProto z; // no values at all: zeros
  z.set_dtype(tensorflow::DT_INT32);
  z.mutable_tensor_shape()->add_dim()->set_size(4);
  EXPECT_EQ(tf::tensor_from_tf(z, "z").to_i64_vector(), (std::vector<int64_t>{0, 0, 0, 0}));

  tensorflow::TensorProto c; // tensor_content, little-endian int32
  c.set_dtype(tensorflow::DT_INT32);
  c.mutable_tensor_shape()->add_dim()->set_size(2);
  c.set_tensor_content(std::string("\x01\x00\x00\x00\xff\xff\xff\xff", 8));
  EXPECT_EQ(tf::tensor_from_tf(c, "c").to_i64_vector(), (std::vector<int64_t>{1, -1}));

  tensorflow::TensorProto s;
  s.set_dtype(tensorflow::DT_STRING);
  s.mutable_tensor_shape()->add_dim()->set_size(2);
  s.add_string_val("ab");
  s.add_string_val(std::string("\0x", 2));
  t = tf::tensor_from_tf(s, "s");
  EXPECT_EQ(t.dtype(), DType::string);
  EXPECT_EQ(t.strings, (std::vector<std::string>{"ab", std::string("\0x", 2)}));

  tensorflow::TensorProto b;
  b.set_dtype(tensorflow::DT_BOOL);
  b.add_bool_val(true);
  EXPECT_EQ(tf::tensor_from_tf(b, "b").get_i64(0), 1);
}

TEST(TfTensorProto, BadProtosNameThePlace) {
  tensorflow::TensorProto c;
  c.set_dtype(tensorflow::DT_FLOAT);
  c.mutable_tensor_shape()->add_dim()->set_size(3);
  c.set_tensor_content(std::string(8, '\0'));
  std::string msg = input_error([&] { tf::tensor_from_tf(c, "m.pb: node 'w'"); });
  EXPECT_NE(msg.find("m.pb: node 'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("12"), std::string::npos) << msg;

  tensorflow::TensorProto many;
  many.set_dtype(tensorflow::DT_FLOAT);
  many.add_float_val(1.f);
  many.add_float_val(2.f); // two values for a scalar
  msg = input_error([&] { tf::tensor_from_tf(many, "node 'k'"); });
  EXPECT_NE(msg.find("node 'k'"), std::string::npos) << msg;

  tensorflow::TensorProto res;
  res.set_dtype(tensorflow::DT_RESOURCE);
  try {
    tf::tensor_from_tf(res, "node 'r'");
    ADD_FAILURE() << "resource constant accepted";
  } catch (const UnsupportedError &e) {
    EXPECT_NE(std::string(e.what()).find("node 'r'"), std::string::npos) << e.what();
  }
}

TEST(TfTensorProto, DtypeMapping) {
  EXPECT_EQ(tf::dtype_from_tf(tensorflow::DT_FLOAT_REF), DType::f32);
  EXPECT_EQ(tf::dtype_from_tf(tensorflow::DT_QUINT8), DType::u8);
  EXPECT_EQ(tf::dtype_from_tf(tensorflow::DT_QINT8), DType::i8);
  EXPECT_EQ(tf::dtype_from_tf(tensorflow::DT_HALF), DType::f16);
  EXPECT_EQ(tf::dtype_from_tf(tensorflow::DT_INT64_REF), DType::i64);
  EXPECT_EQ(tf::dtype_to_tf(DType::u8), tensorflow::DT_UINT8);
  EXPECT_THROW(tf::dtype_from_tf(tensorflow::DT_COMPLEX64), UnsupportedError);
}
