#include "tune/evaluator.h"
#include "tune/kill_point.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "data/dataloader_factory.h"
#include "data/decoders.h"
#include "dist/bytes.h"
#include "dist/comm.h"
#include "metrics/coco_eval.h"
#include "metrics/topk.h"
#include "qtune/error.h"

namespace qtune::tune {

struct BatchSource::Impl {
  data::DataloaderConfig dl;
  std::string input_name;
  DType input_dtype = DType::undefined;
  int pipeline_threads = 1;
};

namespace {

// LPOT keys our data factory does not take (it always reads in order, keeps the
// last partial batch).
YAML::Node factory_section(const YAML::Node &section) {
  YAML::Node copy = YAML::Clone(section);
  for (const char *k : {"last_batch", "shuffle", "distributed"})
    copy.remove(k);
  return copy;
}

// Stacks [1,...] tensors of equal shape into [N,...].
Tensor stack(const std::vector<Tensor> &parts, const std::string &where) {
  Shape shape = parts.front().shape();
  for (const auto &p : parts)
    if (p.shape() != shape)
      throw InputError(where + ": samples of one batch have different shapes " + shape_str(shape) +
                       " and " + shape_str(p.shape()) +
                       " (use batch_size 1 or a fixed-size transform)");
  shape[0] = static_cast<int64_t>(parts.size());
  Tensor out(parts.front().dtype(), shape);
  size_t each = parts.front().nbytes();
  for (size_t i = 0; i < parts.size(); ++i)
    std::memcpy(static_cast<char *>(out.raw()) + i * each, parts[i].raw(), each);
  return out;
}

} // namespace

BatchSource::BatchSource(const DataloaderConfig &section, const std::string &where,
                         const std::string &input_name, DType input_dtype, int pipeline_threads)
    : impl_(std::make_unique<Impl>()) {
  if (!section.present())
    throw InputError(where + ": no dataloader section");
  // Relative paths are relative to the working directory, as in LPOT.
  impl_->dl = data::make_dataloader(factory_section(section.node), ".", where);
  impl_->input_name = input_name;
  impl_->input_dtype = input_dtype;
  impl_->pipeline_threads = std::max(1, pipeline_threads);
}

BatchSource::~BatchSource() = default;

size_t BatchSource::size() const {
  return impl_->dl.dataset->size();
}
const data::Dataset &BatchSource::dataset() const {
  return *impl_->dl.dataset;
}
std::string BatchSource::describe() const {
  return impl_->dl.dataset->describe();
}

size_t BatchSource::batch_size() const {
  return static_cast<size_t>(std::max(1, impl_->dl.batch_size));
}

std::vector<std::string> BatchSource::for_each(size_t limit, const BatchFn &fn, size_t first) {
  data::PipelineOptions opt;
  opt.first = first;
  opt.threads = impl_->pipeline_threads; // default 1: the other core runs the model
  opt.queue_depth = std::max(4, 2 * impl_->dl.batch_size);
  opt.limit = limit;
  opt.skip_bad_images = impl_->dl.skip_bad_images;
  data::Pipeline pipe(*impl_->dl.dataset, impl_->dl.transforms, opt);
  std::vector<data::PreparedSample> batch;
  std::vector<Tensor> parts;
  auto flush = [&] {
    if (batch.empty())
      return;
    Inputs in;
    in[impl_->input_name] = parts.size() == 1 ? parts.front() : stack(parts, "dataloader");
    fn(in, batch);
    batch.clear();
    parts.clear();
  };
  while (auto s = pipe.next()) {
    parts.push_back(data::frame_to_tensor(s->frame, impl_->input_dtype));
    batch.push_back(std::move(*s));
    if (static_cast<int>(batch.size()) >= impl_->dl.batch_size)
      flush();
  }
  flush();
  return pipe.skipped_messages();
}

coco::Dataset coco_metric_ground_truth(const YAML::Node &params, const coco::Dataset *dataset_gt,
                                       const std::string &file,
                                       const std::vector<int64_t> &override_ids) {
  const bool map = params && params.IsMap();
  coco::Dataset gt;
  if (map && params["anno_path"]) {
    // Relative to the working directory, as LPOT's paths.
    gt = coco::load_coco(params["anno_path"].as<std::string>());
  } else if (dataset_gt) {
    gt = *dataset_gt;
  } else {
    throw InputError(file + ": COCOmAP needs a COCO dataset (COCORaw, COCORecord) or "
                            "'anno_path' in evaluation.accuracy.metric.COCOmAP");
  }
  std::vector<int64_t> ids = override_ids;
  if (ids.empty() && map && params["category_ids"])
    ids = params["category_ids"].as<std::vector<int64_t>>();
  return metrics::restrict_categories(gt, ids);
}

struct AccuracyEvaluator::Impl {
  std::unique_ptr<BatchSource> source;
  std::unique_ptr<SampleScorer> scorer;
  std::string metric_name;
  EvaluationOptions options;
  EvaluationResult last_result;
  ScoredRun last;
  RunFn fp32;                  // label-free metrics: runs the FP32 model for the reference
  std::string reference_cache; // and where the reference is kept
};

AccuracyEvaluator::AccuracyEvaluator(const Config &c, const std::string &input_name,
                                     std::vector<std::string> output_names, DType input_dtype,
                                     EvaluationOptions options)
    : impl_(std::make_unique<Impl>()) {
  if (!c.accuracy.present())
    throw InputError(c.file + ": 'evaluation.accuracy' with a metric is needed to tune "
                              "(or pass an eval_func through the C++ API)");
  if (!c.accuracy.dataloader.present())
    throw InputError(c.file + ": 'evaluation.accuracy.dataloader' is missing");
  impl_->options = std::move(options);
  impl_->source =
      std::make_unique<BatchSource>(c.accuracy.dataloader, "evaluation.accuracy.dataloader",
                                    input_name, input_dtype, impl_->options.pipeline_threads);
  impl_->metric_name = c.accuracy.metric_name;
  MetricSpec spec = read_metric_spec(c.accuracy.metric, c.file);
  std::unique_ptr<coco::Dataset> gt;
  std::unique_ptr<data::DetectionDecoder> decoder;
  if (spec.kind == MetricKind::coco_map) // anno_path or the dataset's own annotations
    gt = std::make_unique<coco::Dataset>(coco_metric_ground_truth(
        c.accuracy.metric["COCOmAP"], impl_->source->dataset().coco_ground_truth(), c.file,
        impl_->options.category_ids));
  if (gt)
    *gt = metrics::first_images(*gt, impl_->options.limit);
  if (spec.kind == MetricKind::coco_map || spec.kind == MetricKind::fidelity_coco_map) {
    if (!c.accuracy.postprocess.IsDefined() || c.accuracy.postprocess.IsNull())
      throw InputError(c.file + ": " + spec.name +
                       " needs a detection decoder in 'evaluation.accuracy.postprocess' (e.g. "
                       "yolox: {})");
    decoder = data::make_decoder(c.accuracy.postprocess);
  }
  impl_->scorer = std::make_unique<SampleScorer>(std::move(spec), std::move(gt), std::move(decoder),
                                                 std::move(output_names));
}

void AccuracyEvaluator::set_reference(RunFn fp32, std::string cache_file) {
  impl_->fp32 = std::move(fp32);
  // Under mpirun each rank keeps the reference of its own shard only, and all
  // ranks must take the same path (load or run), so no cache file is used.
  if (dist::world().size() > 1)
    cache_file.clear();
  impl_->reference_cache = std::move(cache_file);
}

bool AccuracyEvaluator::uses_fp32_reference() const {
  return impl_->scorer->spec().uses_fp32;
}

const ScoredRun &AccuracyEvaluator::last_run() const {
  return impl_->last;
}

AccuracyEvaluator::~AccuracyEvaluator() = default;

bool AccuracyEvaluator::higher_is_better() const {
  return impl_->scorer->spec().higher_is_better;
}

std::string AccuracyEvaluator::describe() const {
  return impl_->metric_name + " on " + impl_->source->describe();
}

const EvaluationResult &AccuracyEvaluator::last_result() const {
  return impl_->last_result;
}

namespace {

// What one rank sends rank 0 after its shard: the scorer's per-sample part,
// the images it ran and the bad images it skipped.
struct RankPart {
  ScoredShard shard;
  size_t run_samples = 0;
  std::vector<std::string> skipped;
};

std::string encode(const RankPart &p) {
  dist::ByteWriter w;
  w.put_vector(p.shard.image_ids);
  w.put_vector(p.shard.detections);
  w.put_vector(p.shard.num);
  w.put_vector(p.shard.den);
  w.put<uint64_t>(p.run_samples);
  w.put<uint64_t>(p.skipped.size());
  for (const std::string &m : p.skipped)
    w.put_string(m);
  return w.take();
}

RankPart decode(const std::string &bytes, int rank) {
  dist::ByteReader r(bytes, "evaluation results of rank " + std::to_string(rank));
  RankPart p;
  p.shard.image_ids = r.get_vector<int64_t>();
  p.shard.detections = r.get_vector<Detection>();
  p.shard.num = r.get_vector<double>();
  p.shard.den = r.get_vector<double>();
  p.run_samples = r.get<uint64_t>();
  for (uint64_t i = 0, n = r.get<uint64_t>(); i < n; ++i)
    p.skipped.push_back(r.get_string());
  return p;
}

// Every rank's part on rank 0, concatenated in rank order (= sample order);
// the other ranks keep their own part.
RankPart gather_parts(RankPart mine, dist::Comm &comm) {
  if (comm.size() == 1)
    return mine;
  std::vector<std::string> all = comm.gather(encode(mine));
  RankPart out;
  if (!comm.is_root())
    return mine;
  for (size_t r = 0; r < all.size(); ++r) {
    RankPart p = decode(all[r], static_cast<int>(r));
    out.shard.append(std::move(p.shard));
    out.run_samples += p.run_samples;
    out.skipped.insert(out.skipped.end(), p.skipped.begin(), p.skipped.end());
  }
  return out;
}

} // namespace

// Under mpirun each rank runs a contiguous shard of whole batches
// (dist::shard) and rank 0 finishes the metric on everything, so the value,
// the COCO stats and the per-sample results equal one process's. The other
// ranks return an empty run.
ScoredRun AccuracyEvaluator::score(const RunFn &run, bool capture, dist::Comm &comm) {
  SampleScorer &scorer = *impl_->scorer;
  BatchSource &source = *impl_->source;
  const size_t total =
      impl_->options.limit ? std::min(impl_->options.limit, source.size()) : source.size();
  const dist::Range range = dist::shard(total, source.batch_size(), comm.rank(), comm.size());
  scorer.begin(capture);
  RankPart mine;
  if (range.end > range.begin)
    mine.skipped = source.for_each(
        range.end,
        [&](const Inputs &in, const std::vector<data::PreparedSample> &b) {
          kill_point("evaluate-batch");
          std::vector<Tensor> out = run(in);
          mine.run_samples += b.size(); // images actually run (COCO also lists skipped ones)
          for (size_t i = 0; i < b.size(); ++i)
            scorer.add(out, static_cast<int>(i), static_cast<int>(b.size()), b[i]);
        },
        range.begin);
  mine.shard = scorer.take_shard();
  RankPart all = gather_parts(std::move(mine), comm);
  EvaluationResult &e = impl_->last_result;
  e = EvaluationResult{};
  e.metric = impl_->metric_name;
  if (!comm.is_root())
    return ScoredRun{};
  ScoredRun r = scorer.finish(std::move(all.shard));
  // qtune evaluate's view of the run.
  e.value = r.value;
  e.coco_stats = r.coco_stats;
  e.detections = r.detections;
  e.samples = all.run_samples;
  e.skipped = std::move(all.skipped);
  if (capture && scorer.spec().uses_fp32 && !impl_->reference_cache.empty())
    scorer.save_reference(impl_->reference_cache);
  return r;
}

double AccuracyEvaluator::evaluate(const RunFn &run, bool is_fp32, dist::Comm *comm) {
  SampleScorer &scorer = *impl_->scorer;
  dist::Comm &ranks = comm ? *comm : dist::world();
  if (scorer.needs_reference() && !is_fp32 &&
      !(impl_->reference_cache.size() && scorer.load_reference(impl_->reference_cache))) {
    if (!impl_->fp32)
      throw Error("metric " + scorer.spec().name + " needs the FP32 model's outputs");
    score(impl_->fp32, true, ranks); // the reference run
  }
  impl_->last = score(run, is_fp32 && scorer.needs_reference(), ranks);
  return impl_->last.value;
}

} // namespace qtune::tune
