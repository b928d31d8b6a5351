#include "data/yaml_util.h"

namespace qtune::data::yaml {

void check_keys(const YAML::Node &n, const std::string &where,
                std::initializer_list<const char *> allowed) {
  if (!n || n.IsNull())
    return;
  if (!n.IsMap())
    fail(where, "expected a mapping");
  for (const auto &kv : n) {
    std::string k = kv.first.as<std::string>();
    bool ok = false;
    for (const char *a : allowed)
      ok = ok || k == a;
    if (!ok) {
      std::string list;
      for (const char *a : allowed)
        list += std::string(list.empty() ? "" : ", ") + a;
      fail(where + "." + k, "unknown key (accepted: " + list + ")");
    }
  }
}

std::string require_str(const YAML::Node &n, const char *key, const std::string &where) {
  if (!n || !n.IsMap() || !n[key])
    fail(where + "." + key, "required key is missing");
  return get<std::string>(n, key, where, "");
}

std::vector<float> get_floats(const YAML::Node &n, const char *key, const std::string &where,
                              std::vector<float> def) {
  if (!n || !n.IsMap() || !n[key])
    return def;
  const YAML::Node v = n[key];
  try {
    if (v.IsScalar())
      return {v.as<float>()};
    if (v.IsSequence() && v.size() > 0)
      return v.as<std::vector<float>>();
  } catch (const YAML::Exception &) {
  }
  fail(where + "." + key, "expected a number or a list of numbers");
}

} // namespace qtune::data::yaml
