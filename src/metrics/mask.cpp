#include "metrics/mask.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "qtune/error.h"

namespace qtune::mask {

Rle rle_encode(std::span<const uint8_t> mask, uint32_t h, uint32_t w) {
  size_t n = static_cast<size_t>(h) * w;
  if (mask.size() != n)
    throw Error("rle_encode: mask has " + std::to_string(mask.size()) + " bytes, expected " +
                std::to_string(n));
  Rle rle{h, w, {}};
  uint8_t current = 0;
  uint32_t run = 0;
  for (size_t i = 0; i < n; ++i) {
    uint8_t v = mask[i] != 0;
    if (v != current) {
      rle.counts.push_back(run);
      run = 0;
      current = v;
    }
    ++run;
  }
  rle.counts.push_back(run);
  return rle;
}

std::vector<uint8_t> rle_decode(const Rle &rle) {
  size_t n = static_cast<size_t>(rle.h) * rle.w;
  std::vector<uint8_t> mask(n, 0);
  size_t pos = 0;
  uint8_t value = 0;
  for (uint32_t c : rle.counts) {
    size_t end = std::min(n, pos + c);
    std::fill(mask.begin() + pos, mask.begin() + end, value);
    pos = end;
    value ^= 1;
  }
  return mask;
}

uint64_t rle_area(const Rle &rle) {
  uint64_t area = 0;
  for (size_t j = 1; j < rle.counts.size(); j += 2)
    area += rle.counts[j];
  return area;
}

// maskApi's rleToBbox: walk run ends; a 1-run spanning columns makes the box full height.
Box rle_to_bbox(const Rle &rle) {
  size_t m = rle.counts.size() / 2 * 2;
  if (m == 0 || rle.h == 0)
    return {0, 0, 0, 0};
  uint32_t h = rle.h;
  uint32_t xs = rle.w, ys = h, xe = 0, ye = 0, xp = 0, cc = 0;
  for (size_t j = 0; j < m; ++j) {
    cc += rle.counts[j];
    uint32_t t = cc - static_cast<uint32_t>(j % 2);
    uint32_t y = t % h, x = (t - y) / h;
    if (j % 2 == 0)
      xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = std::min(xs, x);
    xe = std::max(xe, x);
    ys = std::min(ys, y);
    ye = std::max(ye, y);
  }
  return {double(xs), double(ys), double(xe - xs + 1), double(ye - ys + 1)};
}

Rle rle_from_string(std::string_view s, uint32_t h, uint32_t w, std::string_view where) {
  Rle rle{h, w, {}};
  rle.counts.reserve(s.size());
  size_t p = 0;
  uint64_t total = 0;
  while (p < s.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= s.size())
        throw InputError(std::string(where) + ": compressed RLE string ends inside a count");
      int c = static_cast<unsigned char>(s[p]) - 48;
      if (c < 0 || c > 63 || k >= 12) // 12 x 5 bits: shifts stay below 64
        throw InputError(std::string(where) + ": bad character in compressed RLE at offset " +
                         std::to_string(p));
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10))
        x |= static_cast<int64_t>(-1) * (int64_t(1) << (5 * k)); // sign-extend
    }
    size_t m = rle.counts.size();
    if (m > 2)
      x += rle.counts[m - 2];
    if (x < 0 || x > int64_t(UINT32_MAX))
      throw InputError(std::string(where) + ": compressed RLE decodes to a run length of " +
                       std::to_string(x));
    rle.counts.push_back(static_cast<uint32_t>(x));
    total += static_cast<uint64_t>(x);
  }
  if (total != uint64_t(h) * w)
    throw InputError(std::string(where) + ": RLE run lengths sum to " + std::to_string(total) +
                     ", expected height*width = " + std::to_string(uint64_t(h) * w));
  return rle;
}

std::string rle_to_string(const Rle &rle) {
  std::string s;
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t x = rle.counts[i];
    if (i > 2)
      x -= rle.counts[i - 2];
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x >>= 5; // arithmetic shift, as maskApi's long
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more)
        c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

// (int)d as pycocotools' C gets it on x86-64 (cvttsd2si): NaN and values out
// of range give INT_MIN. A repeated polygon vertex makes the edge's slope 0/0;
// a plain cast of that NaN is undefined behaviour (UBSan reports it).
static int x86_int(double d) {
  if (!(d > -2147483649.0 && d < 2147483648.0))
    return std::numeric_limits<int>::min();
  return static_cast<int>(d);
}

// A vertex coordinate after the x5 upsampling, as an int. The readers check
// coordinates (|v| <= 2^20, data/coco.cpp); this bound keeps the int edge
// arithmetic below defined for any caller (NaN counts as 0).
static int upsampled(double v) {
  constexpr double limit = 5.0 * 1048576.0 + 1.0;
  if (!(v == v))
    return 0;
  return static_cast<int>(std::clamp(v, -limit, limit));
}

// Dense boundary points of the polygon scaled by 5, one per step along the major axis.
static void upsample_edges(std::span<const double> xy, std::vector<int> &u, std::vector<int> &v) {
  const double scale = 5;
  size_t k = xy.size() / 2;
  std::vector<int> x(k + 1), y(k + 1);
  for (size_t j = 0; j < k; ++j) {
    x[j] = upsampled(scale * xy[j * 2] + .5);
    y[j] = upsampled(scale * xy[j * 2 + 1] + .5);
  }
  x[k] = x[0];
  y[k] = y[0];
  size_t total = 0;
  for (size_t j = 0; j < k; ++j)
    total += size_t(std::max(std::abs(x[j] - x[j + 1]), std::abs(y[j] - y[j + 1]))) + 1;
  // The readers bound outlines (data/coco.cpp); any other caller gets an
  // error instead of gigabytes of boundary points.
  if (total > (size_t(1) << 24))
    throw InputError("a polygon outline of " + std::to_string(total) +
                     " boundary points is too long to rasterize");
  u.reserve(total);
  v.reserve(total);
  for (size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    double s = dx >= dy ? static_cast<double>(ye - ys) / dx : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        int t = flip ? dx - d : d;
        u.push_back(t + xs);
        v.push_back(x86_int(ys + s * t + .5));
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        int t = flip ? dy - d : d;
        v.push_back(t + ys);
        u.push_back(x86_int(xs + s * t + .5));
      }
    }
  }
}

Rle rle_from_polygon(std::span<const double> xy, uint32_t h, uint32_t w) {
  const double scale = 5;
  std::vector<int> u, v;
  if (xy.size() >= 2)
    upsample_edges(xy, u, v);
  // Keep points where the boundary crosses a pixel column centre, downsampled.
  std::vector<uint32_t> a;
  a.reserve(u.size() / 4 + 1);
  for (size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1])
      continue;
    double xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + .5) / scale - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > double(w) - 1)
      continue;
    double yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + .5) / scale - .5;
    if (yd < 0)
      yd = 0;
    else if (yd > h)
      yd = h;
    yd = std::ceil(yd);
    a.push_back(
        static_cast<uint32_t>(static_cast<int>(xd) * static_cast<int>(h) + static_cast<int>(yd)));
  }
  a.push_back(h * w);
  std::sort(a.begin(), a.end());
  uint32_t prev = 0;
  for (uint32_t &t : a) {
    uint32_t cur = t;
    t -= prev;
    prev = cur;
  }
  // Crossings at the same position cancel: fold zero-length runs into the previous one.
  Rle rle{h, w, {}};
  size_t j = 0;
  rle.counts.push_back(a[j++]);
  while (j < a.size()) {
    if (a[j] > 0) {
      rle.counts.push_back(a[j++]);
    } else {
      ++j;
      if (j < a.size())
        rle.counts.back() += a[j++];
    }
  }
  return rle;
}

Rle rle_from_bbox(const Box &box, uint32_t h, uint32_t w) {
  // Clipped to one pixel around the image: a rectangle's pixels inside the
  // image do not depend on how far outside its other edges lie.
  auto clip = [](double v, uint32_t size) { return std::clamp(v, -1.0, double(size) + 1.0); };
  double xs = clip(box[0], w), ys = clip(box[1], h), xe = clip(box[0] + box[2], w),
         ye = clip(box[1] + box[3], h);
  const double xy[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
  return rle_from_polygon(xy, h, w);
}

// Walks two run lists of one mask size together: f(length, in_a, in_b) for each
// stretch over which neither mask changes (as maskApi's merge/IoU loops do).
template <typename F>
static void walk_runs(const std::vector<uint32_t> &a, const std::vector<uint32_t> &b, F &&f) {
  if (a.empty() || b.empty())
    return;
  size_t ia = 1, ib = 1;
  uint32_t ca = a[0], cb = b[0];
  bool va = false, vb = false;
  for (;;) {
    uint32_t c = std::min(ca, cb);
    f(c, va, vb);
    ca -= c;
    if (!ca && ia < a.size()) {
      ca = a[ia++];
      va = !va;
    }
    cb -= c;
    if (!cb && ib < b.size()) {
      cb = b[ib++];
      vb = !vb;
    }
    // Done when either list is used up (they end together unless the sizes lie;
    // stopping then also avoids maskApi's endless loop on such input).
    if ((ca == 0 && ia == a.size()) || (cb == 0 && ib == b.size()))
      return;
  }
}

Rle rle_merge(std::span<const Rle> rles, bool intersect) {
  if (rles.empty())
    return {};
  if (rles.size() == 1)
    return rles[0];
  uint32_t h = rles[0].h, w = rles[0].w;
  std::vector<uint32_t> cnts = rles[0].counts;
  std::vector<uint32_t> out;
  for (size_t i = 1; i < rles.size(); ++i) {
    if (rles[i].h != h || rles[i].w != w)
      return {};
    out.clear();
    bool v = false; // value of the run being built; the first run is a 0-run
    uint32_t cc = 0;
    walk_runs(cnts, rles[i].counts, [&](uint32_t c, bool va, bool vb) {
      bool now = intersect ? (va && vb) : (va || vb);
      if (now != v && c > 0) {
        out.push_back(cc);
        cc = 0;
        v = now;
      }
      cc += c;
    });
    out.push_back(cc);
    cnts.swap(out);
  }
  return {h, w, std::move(cnts)};
}

static double box_iou(const Box &d, const Box &g, bool crowd) {
  double iw = std::min(d[2] + d[0], g[2] + g[0]) - std::max(d[0], g[0]);
  if (iw <= 0)
    return 0;
  double ih = std::min(d[3] + d[1], g[3] + g[1]) - std::max(d[1], g[1]);
  if (ih <= 0)
    return 0;
  double i = iw * ih;
  double da = d[2] * d[3];
  double u = crowd ? da : da + g[2] * g[3] - i;
  return i / u;
}

void bbox_iou(std::span<const Box> dt, std::span<const Box> gt, std::span<const uint8_t> iscrowd,
              double *out) {
  size_t n = gt.size();
  for (size_t d = 0; d < dt.size(); ++d)
    for (size_t g = 0; g < n; ++g)
      out[d * n + g] = box_iou(dt[d], gt[g], !iscrowd.empty() && iscrowd[g]);
}

// Pixels set in both / in either mask; for a crowd gt the union is the detection's area.
static double rle_pair_iou(const Rle &d, const Rle &g, bool crowd) {
  uint64_t inter = 0, uni = 0;
  walk_runs(d.counts, g.counts, [&](uint32_t c, bool va, bool vb) {
    uni += (va || vb) ? c : 0;
    inter += (va && vb) ? c : 0;
  });
  if (inter == 0)
    return 0;
  if (crowd)
    uni = rle_area(d);
  return double(inter) / double(uni);
}

void rle_iou(std::span<const Rle *const> dt, std::span<const Box> dt_boxes,
             std::span<const Rle *const> gt, std::span<const Box> gt_boxes,
             std::span<const uint8_t> iscrowd, double *out) {
  size_t n = gt.size();
  for (size_t d = 0; d < dt.size(); ++d)
    for (size_t g = 0; g < n; ++g) {
      bool crowd = !iscrowd.empty() && iscrowd[g];
      double &o = out[d * n + g];
      o = box_iou(dt_boxes[d], gt_boxes[g], crowd);
      if (o <= 0)
        continue;
      if (dt[d]->h != gt[g]->h || dt[d]->w != gt[g]->w)
        o = -1;
      else
        o = rle_pair_iou(*dt[d], *gt[g], crowd);
    }
}

void rle_iou(std::span<const Rle> dt, std::span<const Rle> gt, std::span<const uint8_t> iscrowd,
             double *out) {
  std::vector<const Rle *> dp, gp;
  std::vector<Box> db, gb;
  for (const Rle &r : dt) {
    dp.push_back(&r);
    db.push_back(rle_to_bbox(r));
  }
  for (const Rle &r : gt) {
    gp.push_back(&r);
    gb.push_back(rle_to_bbox(r));
  }
  rle_iou(dp, db, gp, gb, iscrowd, out);
}

} // namespace qtune::mask
