#pragma once
// Small YAML readers shared by the data factories: every error is an InputError
// naming the key path (e.g. "dataloader.transform.Resize.size: ...").
#include <string>
#include <string_view>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "qtune/error.h"

namespace qtune::data::yaml {

[[noreturn]] inline void fail(const std::string &where, const std::string &what) {
  throw InputError(where + ": " + what);
}

// Throws for keys of mapping `n` that schema section `section` (data/yaml_schema.h)
// does not list.
void check_keys(const YAML::Node &n, const std::string &where, std::string_view section);

// What a mapping key is when it is no name ("null (~)", "a mapping or list"),
// or nullptr for a plain scalar: `{a: 1}: x`, `[a]: x` and `~: x` are valid
// YAML, and as<std::string>() would throw yaml-cpp's bare "bad conversion".
const char *not_a_name(const YAML::Node &key);

// A mapping key as a name (fails with `where` otherwise).
std::string key_name(const YAML::Node &key, const std::string &where);

// n[key] as T, `def` when absent.
template <typename T> T get(const YAML::Node &n, const char *key, const std::string &where, T def) {
  if (!n || !n.IsMap() || !n[key])
    return def;
  try {
    return n[key].as<T>();
  } catch (const YAML::Exception &) {
    // No line here: the factories may run on YAML::Clone copies (line 1); the
    // config loader maps this message's key path back to the file's line.
    const YAML::Node v = n[key];
    fail(where + "." + key, "has the wrong type (" +
                                (v.IsScalar()     ? "'" + v.Scalar() + "'"
                                 : v.IsSequence() ? std::string("a list")
                                                  : std::string("a mapping")) +
                                ")");
  }
}

std::string require_str(const YAML::Node &n, const char *key, const std::string &where);
// A number or a list of numbers.
std::vector<float> get_floats(const YAML::Node &n, const char *key, const std::string &where,
                              std::vector<float> def);

} // namespace qtune::data::yaml
