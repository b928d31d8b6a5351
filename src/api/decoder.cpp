// qtune/decoder.h: the `postprocess` decoders (data/decoders.h) for API users.
#include "qtune/decoder.h"

#include <yaml-cpp/yaml.h>

#include "data/decoders.h"
#include "qtune/error.h"

namespace qtune {

struct DetectionDecoder::Impl {
  std::unique_ptr<data::DetectionDecoder> decoder;
};

DetectionDecoder::DetectionDecoder(const std::string &yaml) {
  YAML::Node node;
  try {
    node = YAML::Load(yaml);
  } catch (const YAML::Exception &e) {
    throw InputError("postprocess: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  auto impl = std::make_shared<Impl>();
  impl->decoder = data::make_decoder(node, "postprocess");
  impl_ = std::move(impl);
}

DetectionDecoder::~DetectionDecoder() = default;
DetectionDecoder::DetectionDecoder(const DetectionDecoder &) = default;
DetectionDecoder &DetectionDecoder::operator=(const DetectionDecoder &) = default;

std::vector<Detection> DetectionDecoder::decode(std::span<const Tensor> outputs,
                                                std::span<const std::string> output_names,
                                                const InputSample &sample, int batch_index) const {
  const ImageGeometry &g = sample.geometry;
  const data::Geometry geo{g.sx,         g.sy,          g.ox,          g.oy,
                           g.orig_width, g.orig_height, g.input_width, g.input_height};
  return impl_->decoder->decode(outputs, output_names, batch_index, sample.image_id, geo);
}

std::string DetectionDecoder::name() const {
  return impl_->decoder->name();
}

} // namespace qtune
