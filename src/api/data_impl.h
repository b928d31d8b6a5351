#pragma once
// What the public qtune::Dataset and qtune::Transforms hold: shared by the API
// files that reach into them (data.cpp, metrics.cpp).
#include <memory>

#include "data/dataset.h"
#include "data/transforms.h"
#include "qtune/data.h"

namespace qtune {

struct Dataset::Impl {
  std::unique_ptr<data::Dataset> set;
};

struct Transforms::Impl {
  data::TransformList list;
};

} // namespace qtune
