#pragma once
// Decode + preprocess on worker threads ahead of inference. Workers take sample
// indices in order and may finish out of order; next() hands results back in
// index order (deterministic). At most `queue_depth` samples are in flight or
// waiting, which bounds memory.
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace qtune::data {

struct PipelineOptions {
  int threads = 1;              // worker threads (>= 1)
  int queue_depth = 8;          // samples decoded ahead of the consumer
  bool skip_bad_images = false; // missing/corrupt image: skip and count instead of failing
  size_t limit = 0;             // 0: whole dataset, else only the first `limit` samples
  size_t first = 0;             // start at this sample (a rank's shard: [first, limit))
};

struct PreparedSample {
  size_t index = 0;
  std::string name;
  Frame frame; // preprocessed; frame.geo maps model pixels back to the original
  GroundTruth truth;
};

class Pipeline {
public:
  Pipeline(const Dataset &dataset, const TransformList &transforms, PipelineOptions options);
  ~Pipeline();
  Pipeline(const Pipeline &) = delete;
  Pipeline &operator=(const Pipeline &) = delete;

  // The next sample in dataset order, or nullopt at the end. Rethrows a worker's
  // error unless skip_bad_images is set.
  std::optional<PreparedSample> next();
  size_t skipped() const { return skipped_.size(); }
  const std::vector<std::string> &skipped_messages() const { return skipped_; }

private:
  struct Slot {
    std::optional<PreparedSample> sample;
    std::exception_ptr error;
    std::string error_text;
  };
  void worker();

  const Dataset &dataset_;
  const TransformList &transforms_;
  PipelineOptions options_;
  size_t total_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t next_claim_ = 0;   // next index a worker will take
  size_t next_deliver_ = 0; // next index next() returns
  bool stop_ = false;
  std::map<size_t, Slot> done_;
  std::vector<std::string> skipped_;
  std::vector<std::thread> workers_;
};

} // namespace qtune::data
