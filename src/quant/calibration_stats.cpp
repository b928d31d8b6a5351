#include "quant/calibration_stats.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::quant {

const TensorStats *CalibrationStats::find(const std::string &name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

nlohmann::json CalibrationStats::to_json() const {
  nlohmann::json j;
  j["format"] = "qtune-calibration-1";
  j["samples"] = samples;
  j["tensors"] = nlohmann::json::object();
  for (const auto &[name, s] : tensors)
    j["tensors"][name] = s.to_json();
  return j;
}

CalibrationStats CalibrationStats::from_json(const nlohmann::json &j, const std::string &where) {
  if (!j.is_object() || j.value("format", "") != "qtune-calibration-1")
    throw InputError(where + ": not a qtune calibration file (format qtune-calibration-1)");
  CalibrationStats c;
  c.samples = j.value("samples", int64_t(0));
  if (!j.contains("tensors") || !j.at("tensors").is_object())
    throw InputError(where + ": missing 'tensors' object");
  for (const auto &[name, s] : j.at("tensors").items())
    c.tensors[name] = TensorStats::from_json(s, where + ": tensor '" + name + "'");
  return c;
}

void CalibrationStats::save(const std::string &path) const {
  // Unique per process: two runs saving one statistics file must not share it.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      throw Error(path + ": cannot open for writing");
    f << to_json().dump();
    if (!f.flush())
      throw Error(path + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw Error(path + ": cannot rename temp file: " + ec.message());
}

CalibrationStats CalibrationStats::load(const std::string &path) {
  std::ifstream f = open_input_file(path, "calibration statistics");
  if (!f)
    throw InputError(path + ": cannot open calibration statistics");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::parse_error &e) {
    throw InputError(path + ": byte " + std::to_string(e.byte) + ": invalid JSON");
  }
  return from_json(j, path);
}

} // namespace qtune::quant
