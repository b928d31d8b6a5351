// COCOeval (pycocotools cocoeval.py, useCats=1) in three steps as there:
// evaluate_image() per (category, image, area range), accumulate() per
// (category, area range, max dets), summarize() into the 12 stats. Orders and
// tie-breaks follow numpy's stable mergesort so equal scores give the same result.
#include <algorithm>
#include <numeric>

#include "metrics/coco_eval.h"
#include "qtune/error.h"

namespace qtune::metrics {

const std::array<const char *, 12> kCocoStatNames = {"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                                     "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

namespace {

constexpr int kA = 4; // area ranges: all, small, medium, large
constexpr int kM = 3; // max detections: 1, 10, 100
constexpr double kAreaRange[kA][2] = {{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}};
constexpr int kMaxDets[kM] = {1, 10, 100};
constexpr double kEps = 2.220446049250313e-16; // np.spacing(1)

// np.linspace(start, stop, num): i * step + start, last value exactly stop.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> y(num);
  double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i)
    y[i] = i * step + start;
  y[num - 1] = stop;
  return y;
}

// Annotation indices grouped by key = category index * num_images + image rank,
// file order kept inside a group (pycocotools' _gts/_dts lists).
struct Buckets {
  std::vector<uint32_t> offsets;
  std::vector<uint32_t> items;
  std::span<const uint32_t> at(size_t key) const {
    return {items.data() + offsets[key], offsets[key + 1] - offsets[key]};
  }
};

// Geometry of one side (gt or results). Boxes are made up front; masks (segm)
// only for annotations that meet the other side in an (image, category), since
// rasterising every polygon would dominate the run time.
struct Geometry {
  std::span<const coco::Annotation> anns;
  std::string source;
  std::vector<mask::Box> boxes;
  std::vector<mask::Rle> rles;
  std::vector<uint8_t> ready;

  void init(std::span<const coco::Annotation> a, std::string src, IouType type) {
    anns = a;
    source = std::move(src);
    boxes.resize(anns.size());
    if (type == IouType::segm) {
      rles.resize(anns.size());
      ready.assign(anns.size(), 0);
      return;
    }
    for (size_t j = 0; j < anns.size(); ++j) {
      if (!anns[j].has_bbox)
        throw InputError(where(j) + ": no bbox (needed for bbox evaluation)");
      boxes[j] = {anns[j].bbox[0], anns[j].bbox[1], anns[j].bbox[2], anns[j].bbox[3]};
    }
  }

  std::string where(size_t j) const {
    return source + ": annotation " + std::to_string(anns[j].id);
  }

  // pycocotools' _toMask (annToRLE) for annotation j, and its bbox from the mask.
  void ensure_mask(size_t j, const coco::Dataset &gt) {
    if (ready[j])
      return;
    const coco::Image &img = gt.image(anns[j].image_id);
    const coco::Annotation &a = anns[j];
    if (a.segmentation.kind == coco::Segmentation::Kind::none && a.has_bbox) // box results
      rles[j] =
          mask::rle_from_bbox({a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]},
                              static_cast<uint32_t>(img.height), static_cast<uint32_t>(img.width));
    else
      rles[j] =
          segmentation_to_rle(a.segmentation, img.height, img.width, where(j) + " segmentation");
    boxes[j] = mask::rle_to_bbox(rles[j]);
    ready[j] = 1;
  }
};

// What evaluate_image keeps for accumulate (pycocotools' evalImgs entry).
struct ImageEval {
  bool valid = false;
  uint32_t det_begin = 0; // into Evaluator::det_* arrays, sorted by score
  uint32_t det_count = 0;
  uint32_t gt_kept = 0; // gts not ignored
};

class Evaluator {
public:
  Evaluator(const coco::Dataset &gt, std::span<const coco::Annotation> dt, IouType type)
      : gt_(gt), dt_(dt), type_(type) {
    iou_thr_ = linspace(.5, 0.95, 10);
    rec_thr_ = linspace(.0, 1.00, 101);
    K_ = gt.num_categories();
    I_ = gt.images.size();
    // p.imgIds = sorted(gt image ids)
    std::vector<size_t> order(I_);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return gt.images[a].id < gt.images[b].id; });
    rank_of_pos_.resize(I_);
    for (size_t r = 0; r < I_; ++r)
      rank_of_pos_[order[r]] = r;
    gt_buckets_ = make_buckets(gt.annotations, "ground truth");
    dt_buckets_ = make_buckets(dt, "results");
    gt_geo_.init(gt.annotations, gt.source, type);
    dt_geo_.init(dt, "results", type);
  }

  CocoEvalResult run() {
    evals_.assign(size_t(K_) * kA * I_, ImageEval{});
    for (int k = 0; k < K_; ++k)
      for (size_t i = 0; i < I_; ++i)
        evaluate_image(k, i);
    CocoEvalResult res;
    accumulate(res);
    summarize(res);
    export_matches(res);
    return res;
  }

private:
  const coco::Dataset &gt_;
  std::span<const coco::Annotation> dt_;
  IouType type_;
  int K_ = 0;
  size_t I_ = 0;
  std::vector<double> iou_thr_, rec_thr_;
  std::vector<size_t> rank_of_pos_;
  Buckets gt_buckets_, dt_buckets_;
  Geometry gt_geo_, dt_geo_;
  std::vector<ImageEval> evals_; // [k][a][i]
  std::vector<double> det_score_;
  std::vector<uint16_t> det_tp_, det_fp_; // bit t: true/false positive at iou_thr_[t]
  // scratch, reused across images
  std::vector<uint32_t> dt_sorted_, gt_order_;
  std::vector<double> ious_;
  std::vector<uint8_t> crowd_, gt_ignored_, gt_matched_;
  std::vector<mask::Box> box_a_, box_b_;
  std::vector<const mask::Rle *> rle_a_, rle_b_;

  // The area-"all" records per image, for AP on resampled image sets.
  void export_matches(CocoEvalResult &res) const {
    std::vector<size_t> by_rank(I_);
    for (size_t pos = 0; pos < I_; ++pos)
      by_rank[rank_of_pos_[pos]] = pos;
    res.image_matches.resize(I_);
    for (size_t i = 0; i < I_; ++i) {
      CocoImageMatches &m = res.image_matches[i];
      m.image_id = gt_.images[by_rank[i]].id;
      for (int k = 0; k < K_; ++k) {
        const ImageEval &e = evals_[(size_t(k) * kA + 0) * I_ + i];
        if (!e.valid)
          continue;
        CocoImageMatches::Category c;
        c.index = k;
        c.gt_kept = e.gt_kept;
        c.score.assign(det_score_.begin() + e.det_begin,
                       det_score_.begin() + e.det_begin + e.det_count);
        c.tp.assign(det_tp_.begin() + e.det_begin, det_tp_.begin() + e.det_begin + e.det_count);
        c.fp.assign(det_fp_.begin() + e.det_begin, det_fp_.begin() + e.det_begin + e.det_count);
        m.categories.push_back(std::move(c));
      }
    }
  }

  Buckets make_buckets(std::span<const coco::Annotation> anns, const char *what) const {
    Buckets b;
    size_t nkeys = size_t(K_) * I_;
    b.offsets.assign(nkeys + 1, 0);
    std::vector<size_t> keys(anns.size());
    for (size_t j = 0; j < anns.size(); ++j) {
      int64_t pos = gt_.image_index(anns[j].image_id);
      int k = gt_.category_index(anns[j].category_id);
      if (pos < 0 || k < 0)
        throw InputError(std::string(what) + " annotation " + std::to_string(anns[j].id) +
                         ": unknown image_id " + std::to_string(anns[j].image_id) +
                         " or category_id " + std::to_string(anns[j].category_id));
      keys[j] = size_t(k) * I_ + rank_of_pos_[pos];
      ++b.offsets[keys[j] + 1];
    }
    for (size_t key = 0; key < nkeys; ++key)
      b.offsets[key + 1] += b.offsets[key];
    b.items.resize(anns.size());
    std::vector<uint32_t> fill(b.offsets.begin(), b.offsets.end() - 1);
    for (size_t j = 0; j < anns.size(); ++j)
      b.items[fill[keys[j]]++] = static_cast<uint32_t>(j);
    return b;
  }

  static double area_of(const coco::Annotation &a) {
    return a.has_area ? a.area : a.bbox[2] * a.bbox[3];
  }

  // IoU of the score-sorted detections (rows) against gts in file order (columns).
  void compute_ious(std::span<const uint32_t> gts) {
    size_t D = dt_sorted_.size(), G = gts.size();
    ious_.resize(D * G);
    crowd_.resize(G);
    for (size_t g = 0; g < G; ++g)
      crowd_[g] = gt_.annotations[gts[g]].iscrowd;
    if (D == 0 || G == 0)
      return;
    if (type_ == IouType::segm) {
      for (size_t d = 0; d < D; ++d)
        dt_geo_.ensure_mask(dt_sorted_[d], gt_);
      for (size_t g = 0; g < G; ++g)
        gt_geo_.ensure_mask(gts[g], gt_);
    }
    box_a_.resize(D);
    box_b_.resize(G);
    for (size_t d = 0; d < D; ++d)
      box_a_[d] = dt_geo_.boxes[dt_sorted_[d]];
    for (size_t g = 0; g < G; ++g)
      box_b_[g] = gt_geo_.boxes[gts[g]];
    if (type_ == IouType::bbox) {
      mask::bbox_iou(box_a_, box_b_, crowd_, ious_.data());
      return;
    }
    rle_a_.resize(D);
    rle_b_.resize(G);
    for (size_t d = 0; d < D; ++d)
      rle_a_[d] = &dt_geo_.rles[dt_sorted_[d]];
    for (size_t g = 0; g < G; ++g)
      rle_b_[g] = &gt_geo_.rles[gts[g]];
    mask::rle_iou(rle_a_, box_a_, rle_b_, box_b_, crowd_, ious_.data());
  }

  void evaluate_image(int k, size_t i) {
    size_t key = size_t(k) * I_ + i;
    auto gts = gt_buckets_.at(key);
    auto dts = dt_buckets_.at(key);
    if (gts.empty() && dts.empty())
      return;
    // Detections by descending score, stable (ties keep file order), top maxDets[-1].
    dt_sorted_.assign(dts.begin(), dts.end());
    std::stable_sort(dt_sorted_.begin(), dt_sorted_.end(),
                     [&](uint32_t a, uint32_t b) { return dt_[a].score > dt_[b].score; });
    if (dt_sorted_.size() > size_t(kMaxDets[kM - 1]))
      dt_sorted_.resize(kMaxDets[kM - 1]);
    compute_ious(gts);
    for (int a = 0; a < kA; ++a)
      evaluate_area(k, i, a, gts);
  }

  void evaluate_area(int k, size_t i, int a, std::span<const uint32_t> gts) {
    const double lo = kAreaRange[a][0], hi = kAreaRange[a][1];
    size_t G = gts.size(), D = dt_sorted_.size();
    gt_ignored_.resize(G);
    uint32_t kept = 0;
    for (size_t g = 0; g < G; ++g) {
      const coco::Annotation &ann = gt_.annotations[gts[g]];
      double area = area_of(ann);
      gt_ignored_[g] = ann.iscrowd || area < lo || area > hi;
      kept += !gt_ignored_[g];
    }
    // gts not ignored first, stable (np.argsort(gtIg, kind='mergesort')).
    gt_order_.resize(G);
    std::iota(gt_order_.begin(), gt_order_.end(), 0);
    std::stable_partition(gt_order_.begin(), gt_order_.end(),
                          [&](uint32_t g) { return !gt_ignored_[g]; });

    ImageEval &e = evals_[(size_t(k) * kA + a) * I_ + i];
    e.valid = true;
    e.det_begin = static_cast<uint32_t>(det_score_.size());
    e.det_count = static_cast<uint32_t>(D);
    e.gt_kept = kept;
    det_score_.resize(e.det_begin + D);
    det_tp_.resize(e.det_begin + D, 0); // new entries start clear
    det_fp_.resize(e.det_begin + D, 0);
    for (size_t d = 0; d < D; ++d)
      det_score_[e.det_begin + d] = dt_[dt_sorted_[d]].score;

    for (size_t t = 0; t < iou_thr_.size(); ++t) {
      gt_matched_.assign(G, 0);
      for (size_t d = 0; d < D; ++d) {
        // Best still-free gt at IoU >= threshold; crowd gts can match many times,
        // and once a real gt matched, ignored ones are not considered.
        double best = std::min(iou_thr_[t], 1 - 1e-10);
        int m = -1;
        for (size_t gi = 0; gi < G; ++gi) {
          uint32_t g = gt_order_[gi];
          if (gt_matched_[gi] && !crowd_[g])
            continue;
          if (m > -1 && !gt_ignored_[gt_order_[m]] && gt_ignored_[g])
            break;
          double v = ious_[d * G + g];
          if (v < best)
            continue;
          best = v;
          m = static_cast<int>(gi);
        }
        bool matched = m >= 0;
        bool ignored;
        if (matched) {
          gt_matched_[m] = 1;
          ignored = gt_ignored_[gt_order_[m]];
        } else {
          double area = dt_[dt_sorted_[d]].area;
          ignored = area < lo || area > hi;
        }
        uint16_t bit = uint16_t(1u << t);
        if (!ignored) {
          if (matched)
            det_tp_[e.det_begin + d] |= bit;
          else
            det_fp_[e.det_begin + d] |= bit;
        }
      }
    }
  }

  void accumulate(CocoEvalResult &res) {
    const int T = static_cast<int>(iou_thr_.size()), R = static_cast<int>(rec_thr_.size());
    res.iou_thresholds = iou_thr_;
    res.recall_thresholds = rec_thr_;
    res.precision.assign(size_t(T) * R * K_ * kA * kM, -1.0);
    res.recall.assign(size_t(T) * K_ * kA * kM, -1.0);
    std::vector<uint32_t> dets;
    std::vector<double> rc, pr;
    for (int k = 0; k < K_; ++k)
      for (int a = 0; a < kA; ++a)
        for (int m = 0; m < kM; ++m) {
          // Concatenate each image's top maxDet detections, then one stable sort.
          dets.clear();
          uint64_t npig = 0;
          bool any = false;
          for (size_t i = 0; i < I_; ++i) {
            const ImageEval &e = evals_[(size_t(k) * kA + a) * I_ + i];
            if (!e.valid)
              continue;
            any = true;
            npig += e.gt_kept;
            uint32_t n = std::min<uint32_t>(e.det_count, kMaxDets[m]);
            for (uint32_t j = 0; j < n; ++j)
              dets.push_back(e.det_begin + j);
          }
          if (!any || npig == 0)
            continue;
          std::stable_sort(dets.begin(), dets.end(),
                           [&](uint32_t x, uint32_t y) { return det_score_[x] > det_score_[y]; });
          size_t nd = dets.size();
          rc.resize(nd);
          pr.resize(nd);
          for (int t = 0; t < T; ++t) {
            uint16_t bit = uint16_t(1u << t);
            double tp = 0, fp = 0;
            for (size_t j = 0; j < nd; ++j) {
              tp += (det_tp_[dets[j]] & bit) ? 1 : 0;
              fp += (det_fp_[dets[j]] & bit) ? 1 : 0;
              rc[j] = tp / double(npig);
              pr[j] = tp / (fp + tp + kEps);
            }
            res.recall[((size_t(t) * K_ + k) * kA + a) * kM + m] = nd ? rc[nd - 1] : 0;
            // Precision envelope: make it non-increasing in recall.
            for (size_t j = nd; j-- > 1;)
              if (pr[j] > pr[j - 1])
                pr[j - 1] = pr[j];
            // np.searchsorted(rc, recThrs, side='left'); beyond the end -> 0.
            size_t pos = 0;
            for (int r = 0; r < R; ++r) {
              while (pos < nd && rc[pos] < rec_thr_[r])
                ++pos;
              double q = pos < nd ? pr[pos] : 0;
              res.precision[(((size_t(t) * R + r) * K_ + k) * kA + a) * kM + m] = q;
            }
          }
        }
  }

  // Mean over entries > -1 of precision (ap) or recall at the selected
  // IoU threshold (exact match against iou_thr_, as np.where does) or all.
  double summarize_one(const CocoEvalResult &res, bool ap, double iou_thr, bool all_thr, int a,
                       int max_dets) const {
    const int T = static_cast<int>(iou_thr_.size()), R = static_cast<int>(rec_thr_.size());
    int m = -1;
    for (int j = 0; j < kM; ++j)
      if (kMaxDets[j] == max_dets)
        m = j;
    double sum = 0;
    size_t n = 0;
    for (int t = 0; t < T; ++t) {
      if (!all_thr && iou_thr_[t] != iou_thr)
        continue;
      for (int k = 0; k < K_; ++k) {
        if (ap) {
          for (int r = 0; r < R; ++r) {
            double v = res.precision[(((size_t(t) * R + r) * K_ + k) * kA + a) * kM + m];
            if (v > -1) {
              sum += v;
              ++n;
            }
          }
        } else {
          double v = res.recall[((size_t(t) * K_ + k) * kA + a) * kM + m];
          if (v > -1) {
            sum += v;
            ++n;
          }
        }
      }
    }
    return n == 0 ? -1 : sum / double(n);
  }

  void summarize(CocoEvalResult &res) const {
    auto &s = res.stats;
    s[0] = summarize_one(res, true, 0, true, 0, 100);
    s[1] = summarize_one(res, true, .5, false, 0, 100);
    s[2] = summarize_one(res, true, .75, false, 0, 100);
    s[3] = summarize_one(res, true, 0, true, 1, 100);
    s[4] = summarize_one(res, true, 0, true, 2, 100);
    s[5] = summarize_one(res, true, 0, true, 3, 100);
    s[6] = summarize_one(res, false, 0, true, 0, 1);
    s[7] = summarize_one(res, false, 0, true, 0, 10);
    s[8] = summarize_one(res, false, 0, true, 0, 100);
    s[9] = summarize_one(res, false, 0, true, 1, 100);
    s[10] = summarize_one(res, false, 0, true, 2, 100);
    s[11] = summarize_one(res, false, 0, true, 3, 100);
    // Per-category AP@[.5:.95], area all, 100 dets.
    const int T = static_cast<int>(iou_thr_.size()), R = static_cast<int>(rec_thr_.size());
    res.category_ids.resize(K_);
    res.category_ap.assign(K_, -1);
    for (int k = 0; k < K_; ++k) {
      res.category_ids[k] = gt_.categories[k].id;
      double sum = 0;
      size_t n = 0;
      for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) {
          double v = res.precision[(((size_t(t) * R + r) * K_ + k) * kA + 0) * kM + 2];
          if (v > -1) {
            sum += v;
            ++n;
          }
        }
      if (n)
        res.category_ap[k] = sum / double(n);
    }
  }
};

} // namespace

CocoEvalResult coco_evaluate(const coco::Dataset &gt, std::span<const coco::Annotation> results,
                             IouType iou_type) {
  Evaluator ev(gt, results, iou_type);
  return ev.run();
}

} // namespace qtune::metrics
