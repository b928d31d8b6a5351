#pragma once
// Internal: one factory per decoder family (decoder_<family>.cpp) and the helpers
// they share (decoders.cpp).
#include <map>

#include "data/decoders.h"

namespace qtune::data {

std::unique_ptr<DetectionDecoder> make_yolox_decoder(const YAML::Node &n, const std::string &where);
std::unique_ptr<DetectionDecoder> make_tf_od_decoder(const YAML::Node &n, const std::string &where);
std::unique_ptr<DetectionDecoder> make_bsc_decoder(const YAML::Node &n, const std::string &where);
std::unique_ptr<DetectionDecoder> make_ssd_decoder(const YAML::Node &n, const std::string &where);
std::unique_ptr<DetectionDecoder> make_gfl_decoder(const YAML::Node &n, const std::string &where);
std::unique_ptr<DetectionDecoder> make_yolov5_decoder(const YAML::Node &n,
                                                      const std::string &where);
std::unique_ptr<DetectionDecoder> make_tf_ssd_decoder(const YAML::Node &n,
                                                      const std::string &where);
std::unique_ptr<DetectionDecoder> make_yolov8_decoder(const YAML::Node &n,
                                                      const std::string &where);

// class_map: "coco80" (contiguous -> COCO ids) or "none" (index + offset).
struct ClassMap {
  bool coco80 = true;
  int64_t offset = 0;
  int64_t category_id(int cls) const { return coco80 ? coco80_to_coco91(cls) : cls + offset; }
};
ClassMap read_class_map(const YAML::Node &n, const std::string &where, const char *def);

// Candidates (model-input pixels) -> detections in original pixels.
std::vector<Detection> to_detections(const std::vector<BoxCandidate> &boxes, int64_t image_id,
                                     const Geometry &geo, const ClassMap &map);

// How one box's class scores become candidates (YOLO-style heads).
struct ScoreOptions {
  float threshold = 0;
  bool multi_label = true; // every class above the threshold, else the best class only
  bool sigmoid = false;    // the scores are logits
};
// Box (model-input pixels) with objectness `obj` (1 without) and `n` class scores
// `step` floats apart: candidates of score obj * class > threshold (only when obj is).
void add_box_scores(float x1, float y1, float x2, float y2, float obj, const float *scores,
                    int64_t step, int64_t n, const ScoreOptions &o, std::vector<BoxCandidate> &out);

// label_map: {model class id: COCO id, ...} inline, or a YAML/JSON file holding one.
std::map<int64_t, int64_t> read_label_map(const YAML::Node &n, const std::string &where);

// Clips detections to the original image (as the heads' reference post-processing does).
std::vector<Detection> clip_to_image(std::vector<Detection> dets, const Geometry &geo);

// Post-processing the heads share: per-class score threshold, NMS IoU, detections kept.
struct NmsSettings {
  float score_threshold = 0, nms_iou = 1;
  size_t max_detections = 100;
};
// score_threshold, nms_iou, max_detections from `n` (the defaults where absent).
NmsSettings read_nms(const YAML::Node &n, const std::string &where, NmsSettings def);
// Per-class NMS, top max_detections, back to original pixels, clipped to the image.
std::vector<Detection> finish_detections(std::vector<BoxCandidate> cands, const NmsSettings &nms,
                                         int64_t image_id, const Geometry &geo,
                                         const ClassMap &map);

// max_detections: an integer >= 1, `def` when absent.
size_t read_max_detections(const YAML::Node &n, const std::string &where, size_t def);

// A threshold in [0, 1] (score or IoU), `def` when absent.
float read_threshold(const YAML::Node &n, const char *key, const std::string &where, float def);

// Checks a tensor is float32 with the given rank; `what` names it in errors.
const float *f32_data(const Tensor &t, int rank, const std::string &what);

} // namespace qtune::data
