#include "metrics/sample_results.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

#include "metrics/coco_resample.h"
#include "qtune/error.h"

namespace qtune::metrics {

void SampleResults::append(const SampleResults &o) {
  if (o.empty())
    return;
  if (!empty() && (o.reduce != reduce || o.num_categories != num_categories))
    throw Error("SampleResults::append: results of different metrics");
  if (empty()) {
    reduce = o.reduce;
    num_categories = o.num_categories;
  }
  num.insert(num.end(), o.num.begin(), o.num.end());
  den.insert(den.end(), o.den.begin(), o.den.end());
  images.insert(images.end(), o.images.begin(), o.images.end());
}

namespace {

double reduce_totals(Reduce reduce, double n, double d) {
  if (d == 0)
    return 0;
  return reduce == Reduce::sqrt_ratio ? std::sqrt(n / d) : n / d;
}

} // namespace

double metric_value(const SampleResults &r) {
  std::vector<uint32_t> ones(r.size(), 1);
  return metric_value(r, ones);
}

double metric_value(const SampleResults &r, std::span<const uint32_t> counts) {
  if (counts.size() != r.size())
    throw Error("metric_value: " + std::to_string(counts.size()) + " counts for " +
                std::to_string(r.size()) + " samples");
  if (r.reduce == Reduce::coco_ap)
    return coco_ap(r.images, r.num_categories, counts);
  double n = 0, d = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    n += counts[i] * r.num[i];
    d += counts[i] * r.den[i];
  }
  return reduce_totals(r.reduce, n, d);
}

double coco_ap(std::span<const CocoImageMatches> images, int32_t num_categories,
               std::span<const uint32_t> counts) {
  return CocoResample(images, num_categories).ap(counts);
}

namespace {

const char *reduce_name(Reduce r) {
  switch (r) {
  case Reduce::ratio:
    return "ratio";
  case Reduce::sqrt_ratio:
    return "sqrt_ratio";
  case Reduce::coco_ap:
    return "coco_ap";
  }
  return "?";
}

} // namespace

nlohmann::json to_json(const SampleResults &r) {
  nlohmann::json j;
  j["reduce"] = reduce_name(r.reduce);
  if (r.reduce != Reduce::coco_ap) {
    j["num"] = r.num;
    j["den"] = r.den;
    return j;
  }
  j["num_categories"] = r.num_categories;
  nlohmann::json images = nlohmann::json::array();
  for (const auto &im : r.images) {
    nlohmann::json cats = nlohmann::json::array();
    for (const auto &c : im.categories)
      cats.push_back(
          {{"k", c.index}, {"gt", c.gt_kept}, {"score", c.score}, {"tp", c.tp}, {"fp", c.fp}});
    images.push_back({{"image_id", im.image_id}, {"categories", std::move(cats)}});
  }
  j["images"] = std::move(images);
  return j;
}

SampleResults sample_results_from_json(const nlohmann::json &j, const std::string &where) {
  SampleResults r;
  try {
    std::string reduce = j.at("reduce").get<std::string>();
    if (reduce == "ratio" || reduce == "sqrt_ratio") {
      r.reduce = reduce == "ratio" ? Reduce::ratio : Reduce::sqrt_ratio;
      r.num = j.at("num").get<std::vector<double>>();
      r.den = j.at("den").get<std::vector<double>>();
      if (r.num.size() != r.den.size())
        throw InputError(where + ": per-sample 'num' and 'den' differ in length");
      return r;
    }
    if (reduce != "coco_ap")
      throw InputError(where + ": unknown per-sample reduce '" + reduce + "'");
    r.reduce = Reduce::coco_ap;
    r.num_categories = j.at("num_categories").get<int32_t>();
    for (const auto &im : j.at("images")) {
      CocoImageMatches m;
      m.image_id = im.at("image_id").get<int64_t>();
      for (const auto &c : im.at("categories")) {
        CocoImageMatches::Category cat;
        cat.index = c.at("k").get<int32_t>();
        cat.gt_kept = c.at("gt").get<uint32_t>();
        cat.score = c.at("score").get<std::vector<double>>();
        cat.tp = c.at("tp").get<std::vector<uint16_t>>();
        cat.fp = c.at("fp").get<std::vector<uint16_t>>();
        if (cat.index < 0 || cat.index >= r.num_categories || cat.tp.size() != cat.score.size() ||
            cat.fp.size() != cat.score.size())
          throw InputError(where + ": image " + std::to_string(m.image_id) +
                           ": inconsistent per-category matches");
        m.categories.push_back(std::move(cat));
      }
      r.images.push_back(std::move(m));
    }
  } catch (const nlohmann::json::exception &e) {
    throw InputError(where + ": per-sample results: " + e.what());
  }
  return r;
}

} // namespace qtune::metrics
