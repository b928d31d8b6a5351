// Float Resize (nearest) on oneDNN layouts (kernels/resize_layout.h): a conv
// output resized 2x and joined by a Concat through the executor equals index
// arithmetic on the conv output; a channels-last input is read and written
// channels-last; a blocked input that is not channels-last is reordered.
#include <dnnl.hpp>
#include <gtest/gtest.h>
#include <map>
#include <random>

#include "runtime/executor.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

Tensor random_f32(const Shape &s, std::mt19937 &rng) {
  Tensor t(DType::f32, s);
  std::normal_distribution<float> d(0.f, 1.f);
  for (float &v : t.span<float>())
    v = d(rng);
  return t;
}

Node resize_node() {
  Node r;
  r.name = "resize", r.op_type = "Resize", r.inputs = {"c", "", "scales"}, r.outputs = {"r"};
  r.attrs["mode"] = std::string("nearest");
  return r;
}

TEST(ResizeLayout, ConvResizeConcatThroughExecutorIsExactNearest) {
  const int64_t C = 16, H = 6, W = 5, OC = 32;
  std::mt19937 rng(3);
  auto g = std::make_shared<Graph>();
  g->inputs.push_back({"x", DType::f32, {}, false});
  g->outputs.push_back({"y", DType::f32, {}, false});
  g->initializers["w"] = random_f32({OC, C, 1, 1}, rng);
  g->initializers["scales"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f});
  Node conv, cat;
  conv.name = "conv", conv.op_type = "Conv", conv.inputs = {"x", "w"}, conv.outputs = {"c"};
  cat.name = "cat", cat.op_type = "Concat", cat.inputs = {"r", "r"}, cat.outputs = {"y"};
  cat.attrs["axis"] = int64_t{1};
  g->nodes = {conv, resize_node(), cat};
  std::map<std::string, Tensor> seen;
  Executor ex(g, {.threads = 2});
  ex.set_node_hook(
      [&](const Node &n, std::span<const Tensor> outs) { seen[n.name] = outs[0].clone(); });
  Tensor y = ex.run({{"x", random_f32({1, C, H, W}, rng)}})[0];
  const Tensor &c = seen.at("conv"), &r = seen.at("resize");
  ASSERT_EQ(y.shape(), (Shape{1, 2 * OC, 2 * H, 2 * W}));
  int64_t bad = 0;
  for (int64_t o = 0; o < 2 * OC; ++o)
    for (int64_t i = 0; i < 2 * H; ++i)
      for (int64_t j = 0; j < 2 * W; ++j) {
        float want = c.data<float>()[((o % OC) * H + i / 2) * W + j / 2];
        bad += y.data<float>()[(o * 2 * H + i) * 2 * W + j] != want;
        if (o < OC)
          bad += r.data<float>()[(o * 2 * H + i) * 2 * W + j] != want;
      }
  EXPECT_EQ(bad, 0);
}

// The kernel alone: NHWC in -> NHWC out with the right values; nChw16c in ->
// plain out with the right values.
TEST(ResizeLayout, ChannelsLastKeptOtherBlockedReordered) {
  const int64_t C = 16, H = 3, W = 4;
  std::mt19937 rng(5);
  Tensor plain = random_f32({1, C, H, W}, rng);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  for (auto tag : {dnnl::memory::format_tag::nhwc, dnnl::memory::format_tag::nChw16c}) {
    dnnl::memory::desc given({1, C, H, W}, dnnl::memory::data_type::f32, tag);
    dnnl::memory src({{1, C, H, W}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nchw},
                     eng, plain.raw());
    Tensor x(DType::f32, {1, C, H, W});
    dnnl::memory dst(given, eng, x.raw());
    dnnl::reorder(src, dst).execute(s, src, dst);
    s.wait();
    auto k = make_kernel(resize_node(), KernelEnv{});
    std::vector<const dnnl_memory_desc_t *> layouts{&given.data, nullptr, nullptr};
    k->set_input_layouts(layouts);
    std::vector<Tensor> in{x, Tensor(), Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f})};
    auto types = k->infer(in);
    k->prepare(in);
    std::vector<Tensor> out{Tensor(DType::f32, types[0].shape)};
    k->run(in, out);
    const bool nhwc = tag == dnnl::memory::format_tag::nhwc;
    EXPECT_EQ(k->output_layout(0) != nullptr, nhwc);
    int64_t bad = 0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < 2 * H; ++i)
        for (int64_t j = 0; j < 2 * W; ++j) {
          int64_t at = nhwc ? (i * 2 * W + j) * C + c : (c * 2 * H + i) * 2 * W + j;
          bad += out[0].data<float>()[at] != plain.data<float>()[(c * H + i / 2) * W + j / 2];
        }
    EXPECT_EQ(bad, 0) << (nhwc ? "nhwc" : "nChw16c");
  }
}

} // namespace
} // namespace qtune
