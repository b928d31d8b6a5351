#pragma once
// oneDNN 2.6's own int8 1x1 convolution (stride 1, no padding) on a
// channels-last u8 input: s8 weights [cout][cin], an f32 bias in accumulator
// units, output scales (one, or one per output channel; bias before scale),
// optional post-ops, a channels-last output of type `dst`. What
// kernels::Conv1x1U8 is measured against (bench_qconv_1x1) and checked
// against bit for bit (tests/runtime/test_qconv_1x1.cpp). The operand
// buffers stay the caller's; a sum post-op reads its addend from y.
#include <dnnl.hpp>
#include <vector>

namespace qtune::bench {

struct OneDnnConv1x1 {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream st{eng};
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
  dnnl::memory x_mem, w_mem, b_mem, y_mem;

  OneDnnConv1x1(int64_t cin, int64_t cout, int64_t h, int64_t w, const uint8_t *x,
                const int8_t *weights, const float *bias, const std::vector<float> &scales, void *y,
                dnnl::memory::data_type dst, const dnnl::post_ops &ops = {}) {
    using dnnl::memory;
    using tag = memory::format_tag;
    memory::desc x_md({1, cin, h, w}, memory::data_type::u8, tag::nhwc),
        y_md({1, cout, h, w}, dst, tag::nhwc), b_md({cout}, memory::data_type::f32, tag::x);
    dnnl::primitive_attr attr;
    attr.set_output_scales(scales.size() > 1 ? 1 << 1 : 0, scales);
    attr.set_post_ops(ops);
    pd = dnnl::convolution_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference,
         dnnl::algorithm::convolution_direct,
         x_md,
         memory::desc({cout, cin, 1, 1}, memory::data_type::s8, tag::any),
         b_md,
         y_md,
         {1, 1},
         {0, 0},
         {0, 0}},
        attr, eng);
    memory w_user({{cout, cin, 1, 1}, memory::data_type::s8, tag::oihw}, eng,
                  const_cast<int8_t *>(weights));
    w_mem = memory(pd.weights_desc(), eng);
    dnnl::reorder(w_user, w_mem).execute(st, w_user, w_mem);
    x_mem = memory(x_md, eng, const_cast<uint8_t *>(x));
    b_mem = memory(b_md, eng, const_cast<float *>(bias));
    y_mem = memory(y_md, eng, y);
    conv = dnnl::convolution_forward(pd);
  }

  void run() {
    conv.execute(st, {{DNNL_ARG_SRC, x_mem},
                      {DNNL_ARG_WEIGHTS, w_mem},
                      {DNNL_ARG_BIAS, b_mem},
                      {DNNL_ARG_DST, y_mem}});
    st.wait();
  }
};

} // namespace qtune::bench
