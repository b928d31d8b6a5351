#pragma once
// Sources of model-input batches for calibration (the seed's `q_dataloader`).
// Implement DataLoader, or wrap a callable with CallbackDataLoader.
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "qtune/tensor.h"

namespace qtune {

using Batch = std::unordered_map<std::string, Tensor>; // graph-input name -> tensor

class DataLoader {
public:
  virtual ~DataLoader() = default;
  // Starts again from the first batch.
  virtual void reset() = 0;
  // The next batch, or nullopt at the end.
  virtual std::optional<Batch> next() = 0;
};

// Wraps `next(i)` returning batch i or nullopt once exhausted.
class CallbackDataLoader : public DataLoader {
public:
  explicit CallbackDataLoader(std::function<std::optional<Batch>(size_t)> next)
      : next_(std::move(next)) {}
  void reset() override { i_ = 0; }
  std::optional<Batch> next() override { return next_(i_++); }

private:
  std::function<std::optional<Batch>(size_t)> next_;
  size_t i_ = 0;
};

} // namespace qtune
