// `qtune run MODEL --input NAME=FILE ... --output-dir DIR [--threads N]`: runs an
// ONNX model once on raw little-endian float32 inputs (.f32, the input's shape)
// and writes each output as DIR/<name>.f32 plus DIR/outputs.json describing them.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "frontends/model_loader.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

namespace qtune::cli {

namespace {

// File names from value names: keep [A-Za-z0-9._-], everything else becomes '_'.
std::string sanitize(const std::string &name) {
  std::string s = name;
  for (char &c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      c = '_';
  return s.empty() ? "output" : s;
}

void write_atomic(const std::filesystem::path &path, const void *data, size_t bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(static_cast<const char *>(data), static_cast<std::streamsize>(bytes));
    if (!f)
      throw Error(fmt::format("{}: cannot write", tmp.string()));
  }
  std::filesystem::rename(tmp, path);
}

// A JPEG/PNG for an image-shaped input ([1,3,H,W] or [1,H,W,3]): decoded,
// resized (bilinear) to H x W, fed as RGB float 0..255. Any other
// preprocessing (BGR, normalization, letterbox) belongs in a .f32 file or in
// `qtune evaluate`'s transforms.
Tensor read_image_input(const ValueInfo &vi, const Shape &shape, const std::string &file,
                        const std::string &bytes) {
  bool chw = shape.size() == 4 && shape[1] == 3;
  bool hwc = shape.size() == 4 && shape[3] == 3;
  if (!chw && !hwc)
    throw InputError(fmt::format("{}: an image cannot feed input '{}' of shape {} (needs "
                                 "[1,3,H,W] or [1,H,W,3]); pass raw float32 (.f32) instead",
                                 file, vi.name, shape_str(shape)));
  int h = static_cast<int>(chw ? shape[2] : shape[1]);
  int w = static_cast<int>(chw ? shape[3] : shape[2]);
  data::Frame f = data::frame_from_image(data::decode_image(bytes, file));
  f = data::resize_frame(f, w, h, data::Interp::bilinear);
  f.chw = chw;
  return data::frame_to_tensor(f);
}

// Reads FILE as float32 of the input's declared shape (symbolic dims: 1), or
// as an image when it is a JPEG or PNG.
Tensor read_input(const ValueInfo &vi, const std::string &file) {
  Shape shape;
  for (const Dim &d : vi.dims)
    shape.push_back(d.known() ? d.value : 1);
  {
    std::ifstream probe(file, std::ios::binary);
    char head[8] = {};
    probe.read(head, sizeof head);
    std::string_view magic(head, static_cast<size_t>(probe.gcount()));
    if (data::is_jpeg(magic) || data::is_png(magic))
      return read_image_input(vi, shape, file, data::read_file_bytes(file));
  }
  std::ifstream f(file, std::ios::binary | std::ios::ate);
  if (!f)
    throw InputError(fmt::format("{}: cannot open input file for '{}'", file, vi.name));
  auto size = static_cast<size_t>(f.tellg());
  Tensor t(DType::f32, shape);
  if (size != t.nbytes())
    throw InputError(fmt::format("{}: {} bytes, input '{}' {} needs {} bytes of float32", file,
                                 size, vi.name, shape_str(shape), t.nbytes()));
  f.seekg(0);
  f.read(static_cast<char *>(t.raw()), static_cast<std::streamsize>(size));
  return t;
}

int run_model(const std::string &model, const std::vector<std::string> &input_args,
              const std::string &out_dir, int threads, bool optimize) {
  auto graph = std::make_shared<Graph>(load_model(model));
  if (optimize)
    quant::prepare_for_inference(*graph); // BN folding, fusions, QDQ -> int8 kernels
  std::unordered_map<std::string, Tensor> inputs;
  for (const std::string &arg : input_args) {
    auto eq = arg.find('=');
    if (eq == std::string::npos)
      throw InputError(fmt::format("--input '{}': expected NAME=FILE", arg));
    std::string name = arg.substr(0, eq), file = arg.substr(eq + 1);
    const ValueInfo *vi = nullptr;
    for (const ValueInfo &v : graph->inputs)
      if (v.name == name)
        vi = &v;
    if (!vi)
      throw InputError(fmt::format("{}: model has no input '{}'", model, name));
    inputs[name] = read_input(*vi, file);
  }
  Executor ex(graph, {.threads = threads});
  std::vector<Tensor> outs = ex.run(inputs);
  std::filesystem::create_directories(out_dir);
  nlohmann::json desc = nlohmann::json::array();
  for (size_t i = 0; i < outs.size(); ++i) {
    const std::string &name = graph->outputs[i].name;
    std::string file = sanitize(name) + ".f32";
    Tensor t = outs[i].dtype() == DType::f32 ? outs[i] : outs[i].cast(DType::f32);
    write_atomic(std::filesystem::path(out_dir) / file, t.raw(), t.nbytes());
    desc.push_back({{"name", name},
                    {"file", file},
                    {"shape", outs[i].shape()},
                    {"dtype", std::string(dtype_name(outs[i].dtype()))},
                    {"written_as", "f32"}});
    fmt::print("{} {} -> {}\n", name, shape_str(outs[i].shape()), file);
  }
  std::string text = nlohmann::json{{"outputs", desc}}.dump(2);
  write_atomic(std::filesystem::path(out_dir) / "outputs.json", text.data(), text.size());
  return 0;
}

} // namespace

Command add_run_command(CLI::App &app) {
  auto *sub = app.add_subcommand("run", "Run a model once on raw float32 input files");
  auto model = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out_dir = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  auto no_opt = std::make_shared<bool>(false);
  sub->add_flag("--no-optimize", *no_opt, "skip graph optimization passes");
  sub->add_option("MODEL", *model, "ONNX model file")->required();
  sub->add_option("--input", *inputs,
                  "NAME=FILE: raw little-endian float32 (.f32) of the input shape, or a JPEG/PNG "
                  "(resized to the input, RGB 0..255)")
      ->required();
  sub->add_option("--output-dir", *out_dir, "where outputs are written")->required();
  sub->add_option("--threads", *threads, "threads (0 = all cores)");
  return {sub, [=] { return run_model(*model, *inputs, *out_dir, *threads, !*no_opt); }};
}

} // namespace qtune::cli
