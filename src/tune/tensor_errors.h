#pragma once
// `qtune compare` and the report's error table: quant/compare.h on samples of
// the YAML's calibration data (its evaluation data when it has none).
#include <string>
#include <vector>

#include "quant/compare.h"
#include "tune/config.h"

namespace qtune::tune {

// Up to `n` preprocessed samples (one input set each) for `fp32`'s single input.
std::vector<quant::Inputs> config_samples(const Config &config, const Graph &fp32, size_t n);

// Loads both model files (as written: no fusions, no lowering) and compares them.
quant::CompareResult compare_model_files(const Config &config, const std::string &fp32_path,
                                         const std::string &quant_path, size_t samples,
                                         int threads);

// One text table (worst first, at most `max_rows`; 0 = all).
std::string tensor_error_table(const quant::CompareResult &r, size_t max_rows);

} // namespace qtune::tune
