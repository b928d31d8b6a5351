#include "data/pipeline.h"

#include <algorithm>

namespace qtune::data {

Pipeline::Pipeline(const Dataset &dataset, const TransformList &transforms, PipelineOptions options)
    : dataset_(dataset), transforms_(transforms), options_(options) {
  total_ = options_.limit ? std::min(options_.limit, dataset.size()) : dataset.size();
  next_claim_ = next_deliver_ = std::min(options_.first, total_);
  options_.threads = std::max(1, options_.threads);
  options_.queue_depth = std::max(options_.queue_depth, options_.threads);
  for (int i = 0; i < options_.threads; ++i)
    workers_.emplace_back([this] { worker(); });
}

Pipeline::~Pipeline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto &t : workers_)
    t.join();
}

void Pipeline::worker() {
  for (;;) {
    size_t i;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Bounded: never run more than queue_depth ahead of the consumer.
      cv_.wait(lock, [&] {
        return stop_ || next_claim_ >= total_ ||
               next_claim_ < next_deliver_ + static_cast<size_t>(options_.queue_depth);
      });
      if (stop_ || next_claim_ >= total_)
        return;
      i = next_claim_++;
    }
    Slot slot;
    try {
      Sample s = dataset_.get(i);
      PreparedSample p;
      p.index = i;
      p.frame = preprocess(s, transforms_);
      p.name = std::move(s.name);
      p.truth = std::move(s.truth);
      slot.sample = std::move(p);
    } catch (const std::exception &e) {
      slot.error = std::current_exception();
      slot.error_text = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_[i] = std::move(slot);
    }
    cv_.notify_all();
  }
}

std::optional<PreparedSample> Pipeline::next() {
  for (;;) {
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (next_deliver_ >= total_)
        return std::nullopt;
      cv_.wait(lock, [&] { return done_.count(next_deliver_) > 0; });
      auto it = done_.find(next_deliver_);
      slot = std::move(it->second);
      done_.erase(it);
      ++next_deliver_;
    }
    cv_.notify_all();
    if (slot.sample)
      return std::move(slot.sample);
    if (!options_.skip_bad_images)
      std::rethrow_exception(slot.error);
    skipped_.push_back(slot.error_text);
  }
}

} // namespace qtune::data
