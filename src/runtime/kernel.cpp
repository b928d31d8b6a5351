#include "runtime/kernel.h"

#include <algorithm>
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/kernels/kernel_list.h"

namespace qtune {

namespace {
std::string key(const std::string& op_type, const std::string& domain) {
  bool default_domain = domain.empty() || domain == "ai.onnx";
  return default_domain ? op_type : domain + ":" + op_type;
}
} // namespace

KernelRegistry& KernelRegistry::instance() {
  static KernelRegistry registry = [] {
    KernelRegistry r;
#define QTUNE_CALL_FAMILY(f) register_##f##_kernels(r);
    QTUNE_KERNEL_FAMILIES(QTUNE_CALL_FAMILY)
#undef QTUNE_CALL_FAMILY
    return r;
  }();
  return registry;
}

void KernelRegistry::add(const std::string& op_type, KernelFactory f, const std::string& domain) {
  factories_[key(op_type, domain)] = std::move(f);
}

const KernelFactory* KernelRegistry::find(const std::string& op_type,
                                          const std::string& domain) const {
  auto it = factories_.find(key(op_type, domain));
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> KernelRegistry::op_types() const {
  std::vector<std::string> v;
  for (const auto& [k, f] : factories_) v.push_back(k);
  std::sort(v.begin(), v.end());
  return v;
}

std::unique_ptr<Kernel> make_kernel(const Node& node, const KernelEnv& env) {
  const KernelFactory* f = KernelRegistry::instance().find(node.op_type, node.domain);
  if (!f)
    throw UnsupportedError(fmt::format("op '{}{}' used by node '{}' is not supported",
                                       node.domain.empty() ? "" : node.domain + ":", node.op_type,
                                       node.name));
  return (*f)(node, env);
}

} // namespace qtune
