#pragma once
// `qtune run MODEL IMAGE --config YAML`: one photo through the YAML's
// evaluation pre-processing, the model and the YAML's decoder (postprocess);
// detections named from the dataset's categories when the YAML's dataset has
// them, else from COCO's names.
#include <string>
#include <vector>

#include "data/sample.h"
#include "qtune/metric.h"
#include "tune/config.h"

namespace qtune::tune {

struct NamedDetection {
  Detection box; // original-image pixels
  std::string label;
};

struct PhotoDetections {
  data::Image image;                      // the decoded photo (RGB)
  std::vector<NamedDetection> detections; // score >= min_score, highest first
  std::string decoder;
  std::string names_from; // "dataset <describe>" or "COCO names"
};

// Model from `config.model.path`; `threads` 0 = all cores.
PhotoDetections detect_photo(const Config &config, const std::string &image_path, double min_score,
                             int threads);

// The photo with every detection's box and "label score" drawn, as JPEG bytes.
std::string draw_detections_jpeg(const PhotoDetections &p);

} // namespace qtune::tune
