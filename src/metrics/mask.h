#pragma once
// Run-length encoded binary masks with the semantics of pycocotools' maskApi.c:
// masks are column-major (x outer, y inner), counts alternate 0-runs and 1-runs
// starting with a (possibly empty) 0-run. Polygons are rasterised exactly as
// rleFrPoly does (upsample by 5, walk the edges, keep y-boundary crossings) so
// segm IoUs and areas match COCO's to the last pixel.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qtune::mask {

struct Rle {
  uint32_t h = 0;
  uint32_t w = 0;
  std::vector<uint32_t> counts;
};

using Box = std::array<double, 4>; // x, y, w, h

// mask: h*w bytes, column-major, nonzero = inside.
Rle rle_encode(std::span<const uint8_t> mask, uint32_t h, uint32_t w);
std::vector<uint8_t> rle_decode(const Rle &rle); // column-major 0/1 bytes
uint64_t rle_area(const Rle &rle);
Box rle_to_bbox(const Rle &rle);

// COCO's compressed counts string (LEB128-like, 6 bits per char, deltas from
// counts[i-2] for i > 2). A character outside '0'..'o' -> InputError naming `where`.
Rle rle_from_string(std::string_view s, uint32_t h, uint32_t w, std::string_view where = "RLE");
std::string rle_to_string(const Rle &rle);

// One polygon [x0,y0,x1,y1,...] (k = xy.size()/2 points).
Rle rle_from_polygon(std::span<const double> xy, uint32_t h, uint32_t w);
Rle rle_from_bbox(const Box &box, uint32_t h, uint32_t w);
// Union (or intersection) of masks of one size; sizes differ -> empty 0x0 RLE (as maskApi).
Rle rle_merge(std::span<const Rle> rles, bool intersect = false);

// IoU matrices, out[d * gt.size() + g]. For crowd gt g the union is replaced by
// the detection's area (COCO's "iscrowd" rule). rle_iou gives -1 for size mismatch.
void bbox_iou(std::span<const Box> dt, std::span<const Box> gt, std::span<const uint8_t> iscrowd,
              double *out);
void rle_iou(std::span<const Rle> dt, std::span<const Rle> gt, std::span<const uint8_t> iscrowd,
             double *out);
// Same, with the boxes of the RLEs precomputed (rle_to_bbox) to skip disjoint pairs fast.
void rle_iou(std::span<const Rle *const> dt, std::span<const Box> dt_boxes,
             std::span<const Rle *const> gt, std::span<const Box> gt_boxes,
             std::span<const uint8_t> iscrowd, double *out);

} // namespace qtune::mask
