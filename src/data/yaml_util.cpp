#include "data/yaml_util.h"

#include "data/yaml_schema.h"

namespace qtune::data::yaml {

void check_keys(const YAML::Node &n, const std::string &where, std::string_view section) {
  const std::vector<std::string> allowed = keys_of(section);
  if (!n || n.IsNull())
    return;
  if (!n.IsMap())
    fail(where, "expected a mapping");
  for (const auto &kv : n) {
    // `[a]: 1` or `{a: 1}: 1` (found by fuzz_yaml_config)
    std::string k = key_name(kv.first, where);
    bool ok = false;
    for (const std::string &a : allowed)
      ok = ok || k == a;
    if (!ok) {
      std::string list;
      for (const std::string &a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      fail(where + "." + k, "unknown key (accepted: " + list + ")");
    }
  }
}

const char *not_a_name(const YAML::Node &key) {
  if (key.IsScalar())
    return nullptr;
  return key.IsNull() ? "null (~)" : "a mapping or list";
}

std::string key_name(const YAML::Node &key, const std::string &where) {
  if (const char *kind = not_a_name(key))
    fail(where, std::string("a key is ") + kind + ", not a name");
  return key.Scalar();
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
