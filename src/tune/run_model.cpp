#include "tune/run_model.h"

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <string>

#include "data/model_input.h"
#include "frontends/model_loader.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "tune/workspace.h"

namespace qtune::tune {

namespace {

// File names from value names: keep [A-Za-z0-9._-], everything else becomes '_'.
std::string sanitize(const std::string &name) {
  std::string s = name;
  for (char &c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      c = '_';
  return s.empty() ? "output" : s;
}

const ValueInfo &graph_input(const Graph &g, const std::string &model, const std::string &name) {
  for (const ValueInfo &v : g.inputs)
    if (v.name == name)
      return v;
  throw InputError(fmt::format("{}: model has no input '{}'", model, name));
}

// `what` led by the model file: the executor's own messages already start with
// it (its graph's source), kernel construction errors do not.
std::string in_model(const std::string &model, const char *what) {
  const std::string lead = model + ": ";
  return std::string_view(what).starts_with(lead) ? what : lead + what;
}

} // namespace

std::vector<RunModelOutput> run_model_files(const RunModelOptions &o) {
  LoadOptions lo; // TensorFlow: feed the named inputs, fetch the named outputs
  for (const auto &[name, file] : o.inputs)
    lo.inputs.push_back(name);
  lo.outputs = o.outputs;
  auto graph = std::make_shared<Graph>(load_model(o.model, lo));
  if (o.optimize)
    quant::prepare_for_inference(*graph); // BN folding, fusions, QDQ -> int8 kernels
  std::unordered_map<std::string, Tensor> inputs;
  for (const auto &[name, file] : o.inputs) {
    auto shape = o.shapes.find(name);
    inputs[name] = data::read_model_input(graph_input(*graph, o.model, name), file,
                                          shape == o.shapes.end() ? "" : shape->second);
  }
  std::vector<Tensor> outs;
  try {
    Executor ex(graph, {.threads = o.threads});
    outs = ex.run(inputs);
  } catch (const InputError &e) { // a node's problem: say which model it is in
    throw InputError(in_model(o.model, e.what()));
  } catch (const UnsupportedError &e) {
    throw UnsupportedError(in_model(o.model, e.what()));
  } catch (const Error &e) {
    throw Error(in_model(o.model, e.what()));
  }
  std::filesystem::create_directories(o.output_dir);
  std::vector<RunModelOutput> written;
  nlohmann::json desc = nlohmann::json::array();
  for (size_t i = 0; i < outs.size(); ++i) {
    RunModelOutput w{graph->outputs[i].name, sanitize(graph->outputs[i].name) + ".f32",
                     outs[i].shape(), outs[i].dtype()};
    Tensor t = outs[i].dtype() == DType::f32 ? outs[i] : outs[i].cast(DType::f32);
    write_file_atomic((std::filesystem::path(o.output_dir) / w.file).string(),
                      std::string(static_cast<const char *>(t.raw()), t.nbytes()));
    desc.push_back({{"name", w.name},
                    {"file", w.file},
                    {"shape", w.shape},
                    {"dtype", std::string(dtype_name(w.dtype))},
                    {"written_as", "f32"}});
    written.push_back(std::move(w));
  }
  write_file_atomic((std::filesystem::path(o.output_dir) / "outputs.json").string(),
                    nlohmann::json{{"outputs", desc}}.dump(2));
  return written;
}

} // namespace qtune::tune
