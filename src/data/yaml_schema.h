#pragma once
// The one description of every YAML key qtune accepts (LPOT 1.x keys and qtune's
// own): section, key, type, default, origin and meaning. The loaders check keys
// against it (tune/config.cpp, the data factories, the decoders, the metrics) and
// `qtune config --reference` prints it as docs/yaml_reference.md, so the
// reference page and what the loader accepts cannot drift apart. It lives in
// qtune_data because the data factories are the lowest YAML readers.
//
// Sections are schema paths, not YAML paths: `dataloader` is every dataloader
// (calibration, accuracy, performance), `op_options` every model_wise /
// optype_wise / op_wise entry, `dataset.COCORaw` the parameters of one dataset,
// `decoder.yolox` of one postprocess decoder, `metric.COCOmAP` of one metric.
#include <string>
#include <string_view>
#include <vector>

namespace qtune::data::yaml {

enum class Origin { lpot, qtune };

struct KeyDoc {
  std::string_view section;
  std::string_view key;
  std::string_view type;
  std::string_view default_value; // "" = required or no default
  Origin origin;
  std::string_view description;
};

struct SectionDoc {
  std::string_view section;
  std::string_view where; // the YAML path(s) it appears at
  Origin origin;
  std::string_view description;
};

const std::vector<KeyDoc> &schema_keys();
const std::vector<SectionDoc> &schema_sections();

// Key names of `section` in schema order; throws qtune::Error for a section the
// schema does not have (a programming error, not bad input).
std::vector<std::string> keys_of(std::string_view section);
// Direct sub-section names under `prefix` ("dataset" -> COCORaw, COCORecord, ...).
std::vector<std::string> names_under(std::string_view prefix);

// docs/yaml_reference.md.
std::string reference_markdown();

} // namespace qtune::data::yaml
