// Identity and inference-mode Dropout: the output is the input.
#include <cstring>

#include "runtime/kernel.h"

namespace qtune {
namespace {

class IdentityKernel : public Kernel {
public:
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    std::vector<TensorType> out{{in[0].dtype(), in[0].shape()}};
    if (with_mask_)
      out.push_back({DType::boolean, in[0].shape()});
    return out;
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (out[0].raw() != in[0].raw())
      std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
    if (out.size() > 1 && out[1].defined())
      std::memset(out[1].raw(), 1, out[1].nbytes());
  }
  explicit IdentityKernel(bool with_mask) : with_mask_(with_mask) {}

private:
  bool with_mask_;
};

} // namespace

void register_identity_kernels(KernelRegistry &r) {
  r.add("Identity",
        [](const Node &, const KernelEnv &) { return std::make_unique<IdentityKernel>(false); });
  // Dropout at inference passes data through; the optional mask is all true.
  r.add("Dropout", [](const Node &n, const KernelEnv &) {
    return std::make_unique<IdentityKernel>(n.outputs.size() > 1 && !n.outputs[1].empty());
  });
}

} // namespace qtune
