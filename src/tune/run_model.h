#pragma once
// `qtune run` as one library call: a model run once on input files
// (data/model_input.h), each output written as DIR/<name>.f32 plus
// DIR/outputs.json describing them.
#include <map>
#include <string>
#include <vector>

#include "qtune/tensor.h"

namespace qtune::tune {

struct RunModelOptions {
  std::string model;
  std::map<std::string, std::string> inputs; // input name -> file
  std::map<std::string, std::string> shapes; // input name -> "1x256x256x3" (raw files)
  std::vector<std::string> outputs;          // TensorFlow: fetch these (default: unconsumed)
  std::string output_dir;
  int threads = 0;      // 0: all cores
  bool optimize = true; // graph optimizations and QDQ lowering before running
};

struct RunModelOutput {
  std::string name, file; // the output and the file it went to (in output_dir)
  Shape shape;
  DType dtype = DType::undefined; // the model's; the file holds float32
};

std::vector<RunModelOutput> run_model_files(const RunModelOptions &options);

} // namespace qtune::tune
