// `qtune run MODEL --input NAME=FILE ... --output-dir DIR [--threads N]`: runs a
// model once on raw little-endian inputs of the input's dtype (.f32, .u8 ...) or
// photos, and writes each output as DIR/<name>.f32 plus DIR/outputs.json.
// `qtune run MODEL IMAGE --config YAML [--draw OUT.jpg]`: the YAML's
// pre-processing and decoder on one photo (tune/photo_detect.h), detections printed.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "commands.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "frontends/model_loader.h"
#include "ir/input_file.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"
#include "tune/config.h"
#include "tune/photo_detect.h"

namespace qtune::cli {

namespace {

// "[1,-1,-1,3]": declared dims, unknown as -1.
std::string dims_str(const ValueInfo &vi) {
  Shape s;
  for (const Dim &d : vi.dims)
    s.push_back(d.value);
  return shape_str(s);
}

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
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(static_cast<const char *>(data), static_cast<std::streamsize>(bytes));
    if (!f)
      throw Error(fmt::format("{}: cannot write", tmp.string()));
  }
  std::filesystem::rename(tmp, path);
}

// A JPEG/PNG for an image-shaped input ([1,3,H,W] or [1,H,W,3]): decoded, RGB
// 0..255, resized (bilinear; TF1 convention for uint8 [1,H,W,3] inputs) to H x W
// when the input fixes them, else fed at the
// photo's own size (TensorFlow's uint8 image_tensor [1,-1,-1,3] resizes inside
// the graph). uint8 inputs get the pixels as uint8, others as float. Any other
// preprocessing (BGR, normalization, letterbox) belongs in a raw file or in
// `qtune evaluate`'s transforms.
Tensor read_image_input(const ValueInfo &vi, const std::string &file, const std::string &bytes) {
  auto dim = [&](size_t i) { return i < vi.dims.size() ? vi.dims[i].value : -1; };
  bool chw = vi.dims.size() == 4 && dim(1) == 3;
  bool hwc = vi.dims.size() == 4 && dim(3) == 3;
  if (!chw && !hwc)
    throw InputError(fmt::format("{}: an image cannot feed input '{}' of shape {} (needs "
                                 "[1,3,H,W] or [1,H,W,3]); pass a raw file (.f32, .u8) instead",
                                 file, vi.name, dims_str(vi)));
  int64_t h = chw ? dim(2) : dim(1), w = chw ? dim(3) : dim(2);
  data::Frame f = data::frame_from_image(data::decode_image(bytes, file));
  // A uint8 NHWC input is TensorFlow's image_tensor: resize as the Object
  // Detection API's fixed_shape_resizer does (TF1 bilinear, no half-pixel centres).
  const data::Coords coords =
      vi.dtype == DType::u8 && hwc ? data::Coords::tf_legacy : data::Coords::half_pixel;
  if (h > 0 || w > 0)
    f = data::resize_frame(f, w > 0 ? static_cast<int>(w) : f.width,
                           h > 0 ? static_cast<int>(h) : f.height, data::Interp::bilinear, coords);
  f.chw = chw;
  return data::frame_to_tensor(f, vi.dtype == DType::u8 ? DType::u8 : DType::f32);
}

// The element type a raw file's extension names (.f32, .u8 ...), or undefined.
DType dtype_of_extension(const std::string &file) {
  static const std::pair<const char *, DType> known[] = {
      {".f32", DType::f32}, {".f64", DType::f64}, {".f16", DType::f16}, {".u8", DType::u8},
      {".i8", DType::i8},   {".i32", DType::i32}, {".i64", DType::i64}};
  std::string ext = std::filesystem::path(file).extension().string();
  for (const auto &[e, t] : known)
    if (ext == e)
      return t;
  return DType::undefined;
}

// The input's shape: `--shape NAME=AxBxC` when given, else its declared dims with
// at most one unknown dim, which the file size decides.
Shape raw_input_shape(const ValueInfo &vi, const std::string &file, size_t bytes, DType dtype,
                      const std::string &given) {
  if (!given.empty()) {
    Shape s;
    std::stringstream ss(given);
    std::string part;
    while (std::getline(ss, part, 'x')) {
      try {
        s.push_back(std::stoll(part));
      } catch (const std::exception &) {
        throw InputError(
            fmt::format("--shape {}={}: expected dims like 1x256x256x3", vi.name, given));
      }
    }
    return s;
  }
  Shape shape;
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < vi.dims.size(); ++i) {
    int64_t d = vi.dims[i].value;
    if (d < 0 && i == 0)
      d = 1; // batch
    if (d < 0 && unknown >= 0)
      throw InputError(fmt::format("{}: input '{}' has shape {} with several unknown dims; give "
                                   "--shape {}=AxBx...",
                                   file, vi.name, dims_str(vi), vi.name));
    if (d < 0)
      unknown = static_cast<int>(i);
    else
      known *= d;
    shape.push_back(d);
  }
  const size_t elem = dtype_size(dtype);
  if (unknown >= 0 && known > 0 && bytes % (size_t(known) * elem) == 0)
    shape[unknown] = static_cast<int64_t>(bytes / (size_t(known) * elem));
  return shape;
}

// Reads FILE as raw little-endian values of the input's dtype and shape, or as an
// image when it is a JPEG or PNG.
Tensor read_input(const ValueInfo &vi, const std::string &file, const std::string &shape_arg) {
  {
    std::ifstream probe = open_input_file(file, "input file");
    char head[8] = {};
    probe.read(head, sizeof head);
    std::string_view magic(head, static_cast<size_t>(probe.gcount()));
    if (data::is_jpeg(magic) || data::is_png(magic))
      return read_image_input(vi, file, data::read_file_bytes(file));
  }
  std::ifstream f(file, std::ios::binary | std::ios::ate);
  if (!f)
    throw InputError(fmt::format("{}: cannot open input file for '{}'", file, vi.name));
  auto size = static_cast<size_t>(f.tellg());
  const DType dtype = vi.dtype == DType::undefined ? DType::f32 : vi.dtype;
  const DType named = dtype_of_extension(file);
  if (named != DType::undefined && named != dtype)
    throw InputError(fmt::format("{}: the file holds {} (by its extension) but input '{}' is {}",
                                 file, dtype_name(named), vi.name, dtype_name(dtype)));
  Tensor t(dtype, raw_input_shape(vi, file, size, dtype, shape_arg));
  if (size != t.nbytes())
    throw InputError(fmt::format("{}: {} bytes, input '{}' {} needs {} bytes of {}", file, size,
                                 vi.name, shape_str(t.shape()), t.nbytes(), dtype_name(dtype)));
  f.seekg(0);
  f.read(static_cast<char *>(t.raw()), static_cast<std::streamsize>(size));
  return t;
}

// NAME=VALUE arguments as a map; `what` names the option in errors.
std::map<std::string, std::string> name_values(const std::vector<std::string> &args,
                                               const char *what) {
  std::map<std::string, std::string> out;
  for (const std::string &arg : args) {
    auto eq = arg.find('=');
    if (eq == std::string::npos)
      throw InputError(fmt::format("{} '{}': expected NAME=VALUE", what, arg));
    out[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  return out;
}

struct RunArgs {
  std::string model, image, config, draw, out_dir;
  double min_score = 0.25; // YOLOv5/v8 predict default
  bool json = false;
  std::vector<std::string> inputs, shapes, outputs;
  int threads = 0;
  bool no_optimize = false;
};

int run_model(const RunArgs &a) {
  const std::string &model = a.model;
  const std::vector<std::string> &input_args = a.inputs;
  LoadOptions lo; // TensorFlow: feed the named inputs, fetch --outputs
  for (const auto &[name, file] : name_values(input_args, "--input"))
    lo.inputs.push_back(name);
  lo.outputs = a.outputs;
  auto graph = std::make_shared<Graph>(load_model(model, lo));
  const bool optimize = !a.no_optimize;
  if (optimize)
    quant::prepare_for_inference(*graph); // BN folding, fusions, QDQ -> int8 kernels
  std::unordered_map<std::string, Tensor> inputs;
  const auto shapes = name_values(a.shapes, "--shape");
  for (const auto &[name, file] : name_values(input_args, "--input")) {
    const ValueInfo *vi = nullptr;
    for (const ValueInfo &v : graph->inputs)
      if (v.name == name)
        vi = &v;
    if (!vi)
      throw InputError(fmt::format("{}: model has no input '{}'", model, name));
    auto shape = shapes.find(name);
    inputs[name] = read_input(*vi, file, shape == shapes.end() ? "" : shape->second);
  }
  Executor ex(graph, {.threads = a.threads});
  std::vector<Tensor> outs = ex.run(inputs);
  const std::string &out_dir = a.out_dir;
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

int run_photo(const RunArgs &a) {
  tune::Config c = tune::load_config(a.config);
  c.model.path = a.model;
  tune::PhotoDetections p = tune::detect_photo(c, a.image, a.min_score, a.threads);
  if (!a.draw.empty()) {
    std::string jpeg = tune::draw_detections_jpeg(p);
    write_atomic(a.draw, jpeg.data(), jpeg.size());
  }
  if (a.json) {
    nlohmann::json dets = nlohmann::json::array();
    for (const auto &d : p.detections)
      dets.push_back({{"label", d.label},
                      {"category_id", d.box.category_id},
                      {"score", d.box.score},
                      {"bbox", {d.box.x, d.box.y, d.box.w, d.box.h}}});
    nlohmann::json j = {{"image", a.image},         {"width", p.image.width},
                        {"height", p.image.height}, {"decoder", p.decoder},
                        {"names", p.names_from},    {"detections", dets}};
    if (!a.draw.empty())
      j["draw"] = a.draw;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("{}: {}x{}, decoder {}, names from {}\n", a.image, p.image.width, p.image.height,
             p.decoder, p.names_from);
  fmt::print("{:<16} {:>6}  {:>8} {:>8} {:>8} {:>8}\n", "label", "score", "x", "y", "w", "h");
  for (const auto &d : p.detections)
    fmt::print("{:<16} {:>6.3f}  {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f}\n", d.label, d.box.score,
               d.box.x, d.box.y, d.box.w, d.box.h);
  fmt::print("{} detections with score >= {}\n", p.detections.size(), a.min_score);
  if (!a.draw.empty())
    fmt::print("drawn: {}\n", a.draw);
  return 0;
}

int run_command(const RunArgs &a) {
  if (!a.config.empty()) {
    if (a.image.empty())
      throw InputError("run --config: give the photo as the second argument (MODEL IMAGE)");
    return run_photo(a);
  }
  if (!a.image.empty() || !a.draw.empty())
    throw InputError("run: IMAGE and --draw need --config (its pre-processing and decoder)");
  if (a.inputs.empty() || a.out_dir.empty())
    throw InputError("run: give --input NAME=FILE and --output-dir DIR (raw outputs), or IMAGE "
                     "--config YAML (detections)");
  return run_model(a);
}

} // namespace

Command add_run_command(CLI::App &app) {
  auto *sub = app.add_subcommand(
      "run", "Run a model once: raw inputs/outputs, or detections on a photo with --config");
  auto a = std::make_shared<RunArgs>();
  sub->add_flag("--no-optimize", a->no_optimize, "skip graph optimization passes");
  sub->add_option("MODEL", a->model,
                  "model file (ONNX, TensorFlow .pb / checkpoint / "
                  "SavedModel / TF.js model.json)")
      ->required();
  sub->add_option("IMAGE", a->image,
                  "photo (JPEG/PNG) for --config: pre-processed and decoded as the YAML's "
                  "evaluation section says");
  sub->add_option("--config,-c", a->config,
                  "LPOT YAML whose evaluation.accuracy dataloader transforms and postprocess "
                  "decoder are applied to IMAGE (model.path is replaced by MODEL)");
  sub->add_option("--draw", a->draw,
                  "with --config: write the photo with boxes, labels and scores as JPEG");
  sub->add_option("--score-threshold", a->min_score,
                  "with --config: print/draw detections scoring at least this")
      ->capture_default_str();
  sub->add_flag("--json", a->json, "with --config: print one JSON object");
  sub->add_option("--input", a->inputs,
                  "NAME=FILE: raw little-endian values of the input's dtype and shape (.f32 "
                  "float32, .u8 uint8 ...), or a JPEG/PNG (RGB 0..255, resized to the input's "
                  "H x W when fixed, else at its own size)");
  sub->add_option("--shape", a->shapes,
                  "NAME=AxBxC: shape of a raw input whose declared shape has unknown dims");
  sub->add_option("--outputs", a->outputs,
                  "outputs to fetch, comma-separated (TensorFlow graphs; default: the nodes "
                  "nothing consumes)")
      ->delimiter(',');
  sub->add_option("--output-dir", a->out_dir, "where outputs are written (with --input)");
  sub->add_option("--threads", a->threads, "threads (0 = all cores)");
  return {sub, [a] { return run_command(*a); }};
}

} // namespace qtune::cli
