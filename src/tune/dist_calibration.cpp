#include "tune/dist_calibration.h"

#include <cmath>
#include <map>

#include "dist/bytes.h"
#include "dist/comm.h"
#include "quant/calibrate.h"

namespace qtune::tune {

namespace {

// One sample-major set of per-channel sums (quant::channel_sample_sums).
struct ChannelSums {
  int64_t channels = 0;
  std::vector<double> sums;
};
// Per batch index, per tensor.
using BatchSums = std::map<uint64_t, std::map<std::string, ChannelSums>>;

// TensorStats::add's step of the histogram range for a batch with `maxabs`.
void step_range(double &range, double maxabs) {
  if (range == 0)
    range = maxabs;
  else
    while (range < maxabs)
      range *= 2;
}

double max_abs(const Tensor &t) {
  auto [lo, hi] = quant::value_extremes(t.span<float>());
  return std::max(std::fabs(double(lo)), std::fabs(double(hi)));
}

// Every rank's bytes on every rank, in rank order.
std::vector<std::string> allgather(const std::string &mine) {
  dist::Comm &comm = dist::world();
  std::vector<std::string> all = comm.gather(mine);
  dist::ByteWriter w;
  for (const std::string &s : all)
    w.put_string(s);
  std::string packed = w.take();
  comm.broadcast(packed);
  dist::ByteReader r(packed, "calibration ranges");
  std::vector<std::string> out;
  for (int i = 0; i < comm.size(); ++i)
    out.push_back(r.get_string());
  return out;
}

std::string encode_ranges(const quant::Calibrator::Observed &seen) {
  dist::ByteWriter w;
  w.put<uint64_t>(seen.size());
  for (const auto &[name, t] : seen) {
    w.put_string(name);
    w.put<double>(max_abs(t));
  }
  return w.take();
}

// Another rank's batch of this round moves the single-process ranges on.
void apply_ranges(const std::string &bytes, std::map<std::string, double> &ranges) {
  dist::ByteReader r(bytes, "calibration ranges");
  for (uint64_t i = 0, n = r.get<uint64_t>(); i < n; ++i) {
    std::string name = r.get_string();
    step_range(ranges[name], r.get<double>());
  }
}

// This rank's batch, each tensor binned at the range one process had for it.
void add_own(quant::Calibrator &cal, const quant::Calibrator::Observed &seen,
             std::map<std::string, double> &ranges, std::map<std::string, ChannelSums> &sums) {
  for (const auto &[name, t] : seen) {
    quant::TensorStats &s = cal.stats().tensors[name];
    double &range = ranges[name];
    if (range > 0 && s.range == 0)
      s.range = range; // only zeros so far: they stay in bin 0
    else if (range > 0)
      s.grow(range);
    cal.observe(name, t);
    range = s.range;
    if (cal.tracks_channels(name) && t.rank() >= 2)
      sums[name] = {t.shape()[1], quant::channel_sample_sums(t.span<float>(), t.shape())};
  }
}

std::string encode_part(const quant::CalibrationStats &stats, const BatchSums &sums) {
  dist::ByteWriter w;
  w.put_string(stats.to_json().dump());
  w.put<uint64_t>(sums.size());
  for (const auto &[batch, tensors] : sums) {
    w.put<uint64_t>(batch);
    w.put<uint64_t>(tensors.size());
    for (const auto &[name, cs] : tensors) {
      w.put_string(name);
      w.put<int64_t>(cs.channels);
      w.put_vector(cs.sums);
    }
  }
  return w.take();
}

void decode_part(const std::string &bytes, int rank, quant::CalibrationStats &stats,
                 BatchSums &sums) {
  const std::string where = "calibration statistics of rank " + std::to_string(rank);
  dist::ByteReader r(bytes, where);
  stats = quant::CalibrationStats::from_json(nlohmann::json::parse(r.get_string()), where);
  for (uint64_t i = 0, n = r.get<uint64_t>(); i < n; ++i) {
    auto &tensors = sums[r.get<uint64_t>()];
    for (uint64_t k = 0, m = r.get<uint64_t>(); k < m; ++k) {
      ChannelSums &cs = tensors[r.get_string()];
      cs.channels = r.get<int64_t>();
      cs.sums = r.get_vector<double>();
    }
  }
}

// Both histograms brought to the larger range (same base, power-of-two apart),
// then added: counts are whole numbers, so the order does not matter.
void merge_exact(quant::TensorStats &into, const quant::TensorStats &other) {
  if (other.count == 0)
    return;
  if (into.count == 0) {
    into = other;
    return;
  }
  quant::TensorStats o = other;
  const double range = std::max(into.range, o.range);
  for (quant::TensorStats *s : {&into, &o}) {
    if (s->range == 0)
      s->range = range; // only zeros, in bin 0
    else
      s->grow(range);
    s->histogram.resize(quant::kHistogramBins, 0.0);
  }
  for (int i = 0; i < quant::kHistogramBins; ++i)
    into.histogram[i] += o.histogram[i];
  into.min = std::min(into.min, o.min);
  into.max = std::max(into.max, o.max);
  into.count += o.count;
  if (into.channel_min.size() == o.channel_min.size())
    for (size_t i = 0; i < into.channel_min.size(); ++i) {
      into.channel_min[i] = std::min(into.channel_min[i], o.channel_min[i]);
      into.channel_max[i] = std::max(into.channel_max[i], o.channel_max[i]);
    }
  if (into.channel_sum.size() == o.channel_sum.size())
    into.channel_count += o.channel_count;
  into.threshold_cache.clear();
}

// The per-channel sums added again in batch order, as one process adds them.
void replay_channel_sums(quant::CalibrationStats &stats, const BatchSums &sums) {
  std::map<std::string, std::vector<double>> total;
  for (const auto &[batch, tensors] : sums)
    for (const auto &[name, cs] : tensors) {
      auto [it, first] = total.try_emplace(name, std::vector<double>(cs.channels, 0.0));
      std::vector<double> &acc = it->second;
      if (cs.channels != static_cast<int64_t>(acc.size()) || cs.channels == 0)
        continue; // a later batch of another layout: one process keeps the first
      for (size_t k = 0; k < cs.sums.size(); ++k)
        acc[k % acc.size()] += cs.sums[k];
    }
  for (auto &[name, acc] : total)
    if (auto it = stats.tensors.find(name); it != stats.tensors.end())
      it->second.channel_sum = std::move(acc);
}

quant::CalibrationStats merge_on_root(const quant::CalibrationStats &mine,
                                      const BatchSums &my_sums) {
  dist::Comm &comm = dist::world();
  std::vector<std::string> parts = comm.gather(encode_part(mine, my_sums));
  if (!comm.is_root())
    return mine;
  quant::CalibrationStats merged;
  BatchSums sums;
  for (size_t r = 0; r < parts.size(); ++r) {
    quant::CalibrationStats part;
    decode_part(parts[r], static_cast<int>(r), part, sums);
    merged.samples += part.samples;
    for (const auto &[name, s] : part.tensors)
      merge_exact(merged.tensors[name], s);
  }
  replay_channel_sums(merged, sums);
  return merged;
}

} // namespace

quant::CalibrationStats calibrate_sharded(std::shared_ptr<const Graph> fp32,
                                          const ExecutorOptions &options, BatchSource &source,
                                          size_t limit, const std::function<void()> &each_batch) {
  dist::Comm &comm = dist::world();
  const size_t ranks = static_cast<size_t>(comm.size()), me = static_cast<size_t>(comm.rank());
  const size_t total = limit ? std::min(limit, source.size()) : source.size();
  const size_t unit = source.batch_size();
  const size_t batches = (total + unit - 1) / unit;
  quant::Calibrator cal(std::move(fp32), options);
  std::map<std::string, double> ranges; // one process's histogram range, batch by batch
  BatchSums sums;
  for (size_t round = 0; round * ranks < batches; ++round) {
    const size_t batch = round * ranks + me;
    quant::Calibrator::Observed seen;
    if (batch < batches)
      source.for_each(
          std::min(total, (batch + 1) * unit),
          [&](const Inputs &in, const auto &) {
            if (each_batch)
              each_batch();
            seen = cal.capture(in);
          },
          batch * unit);
    const std::vector<std::string> all = allgather(encode_ranges(seen));
    for (size_t r = 0; r < ranks; ++r)
      if (r == me && batch < batches)
        add_own(cal, seen, ranges, sums[batch]);
      else if (r != me)
        apply_ranges(all[r], ranges);
  }
  return merge_on_root(cal.stats(), sums);
}

} // namespace qtune::tune
