// `qtune run MODEL --input NAME=FILE ... --output-dir DIR [--threads N]`: runs a
// model once on raw little-endian inputs of the input's dtype (.f32, .u8 ...) or
// photos, and writes each output as DIR/<name>.f32 plus DIR/outputs.json
// (tune::run_model_files).
// `qtune run MODEL IMAGE --config YAML [--draw OUT.jpg]`: the YAML's
// pre-processing and decoder on one photo (tune/photo_detect.h), detections printed.
#include <fmt/format.h>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "qtune/error.h"
#include "tune/config.h"
#include "tune/photo_detect.h"
#include "tune/run_model.h"
#include "tune/workspace.h"

namespace qtune::cli {

namespace {

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
  tune::RunModelOptions o;
  o.model = a.model;
  o.inputs = name_values(a.inputs, "--input");
  o.shapes = name_values(a.shapes, "--shape");
  o.outputs = a.outputs;
  o.output_dir = a.out_dir;
  o.threads = a.threads;
  o.optimize = !a.no_optimize;
  for (const auto &w : tune::run_model_files(o))
    fmt::print("{} {} -> {}\n", w.name, shape_str(w.shape), w.file);
  return 0;
}

int run_photo(const RunArgs &a) {
  tune::Config c = tune::load_config(a.config);
  c.model.path = a.model;
  tune::PhotoDetections p = tune::detect_photo(c, a.image, a.min_score, a.threads);
  if (!a.draw.empty()) {
    tune::write_file_atomic(a.draw, tune::draw_detections_jpeg(p));
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
