#pragma once
// `qtune tune` as one library call: the YAML-driven accuracy-aware search on
// config.model.path (calibration and evaluation from the YAML's dataloaders).
#include "tune/config.h"
#include "tune/tuner.h"

namespace qtune::tune {

TuneResult tune_model(const Config &config, const TuneOptions &options);

} // namespace qtune::tune
