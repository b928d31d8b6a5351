// TensorFlow-domain kernels (kernels/tf_*.cpp), table driven: each case is a
// small input, the TF attributes as H2's import converts them, and the output
// TensorFlow's documented semantics give (worked out by hand in the comments;
// StridedSlice and NMS cases are the TF documentation's / TF test suite's own
// examples). Error cases must throw InputError, not crash.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <unordered_set>

#include "qtune/error.h"
#include "runtime/executor.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

using Attrs = std::map<std::string, Attribute>;

template <typename T> Tensor tensor(Shape s, std::vector<T> v) {
  return Tensor::from_vector<T>(std::move(s), v);
}
Tensor f32(Shape s, std::vector<float> v) {
  return tensor<float>(std::move(s), std::move(v));
}
Tensor i32(Shape s, std::vector<int32_t> v) {
  return tensor<int32_t>(std::move(s), std::move(v));
}
Tensor i64(Shape s, std::vector<int64_t> v) {
  return tensor<int64_t>(std::move(s), std::move(v));
}
Tensor vec(const std::vector<int32_t> &v) {
  return i32({static_cast<int64_t>(v.size())}, v);
}
Tensor b8(Shape s, std::vector<bool> v) {
  Tensor t(DType::boolean, std::move(s));
  for (size_t i = 0; i < v.size(); ++i)
    t.data<bool>()[i] = v[i];
  return t;
}
Tensor s32(int32_t v) {
  return i32({}, {v});
}
Tensor sf(float v) {
  return f32({}, {v});
}
// Values 0..n-1 in the given shape and dtype.
Tensor iota(DType t, Shape s) {
  Tensor f(DType::f32, s);
  for (int64_t i = 0; i < f.numel(); ++i)
    f.data<float>()[i] = float(i);
  return f.cast(t);
}

Node tf_node(const std::string &op, size_t n_in, size_t n_out, Attrs attrs) {
  Node n;
  n.name = "n";
  n.op_type = op;
  n.domain = "tf";
  for (size_t i = 0; i < n_in; ++i)
    n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < n_out; ++i)
    n.outputs.push_back(i ? "n:" + std::to_string(i) : "n");
  n.attrs = std::move(attrs);
  return n;
}

// infer + prepare + run, as the executor does for a fresh node.
std::vector<Tensor> run_tf(const std::string &op, std::vector<Tensor> in, Attrs attrs,
                           size_t n_out) {
  Node n = tf_node(op, in.size(), n_out, std::move(attrs));
  auto k = make_kernel(n, KernelEnv{});
  std::vector<TensorType> types = k->infer(in);
  k->prepare(in);
  std::vector<Tensor> out;
  for (size_t i = 0; i < n_out; ++i)
    out.emplace_back(types.at(i).dtype, types.at(i).shape);
  k->run(in, out);
  return out;
}

struct Case {
  std::string name, op;
  std::vector<Tensor> in;
  Attrs attrs;
  std::vector<Tensor> want;
  double tol = 0;
};

void PrintTo(const Case &c, std::ostream *os) {
  *os << c.name;
}

void expect_equal(const Tensor &got, const Tensor &want, double tol, const std::string &what) {
  ASSERT_EQ(dtype_name(got.dtype()), dtype_name(want.dtype())) << what;
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_NEAR(got.get_f64(i), want.get_f64(i), tol) << what << " element " << i;
}

class TfKernel : public ::testing::TestWithParam<Case> {};

TEST_P(TfKernel, MatchesTensorFlowSemantics) {
  const Case &c = GetParam();
  std::vector<Tensor> out = run_tf(c.op, c.in, c.attrs, c.want.size());
  for (size_t k = 0; k < c.want.size(); ++k)
    expect_equal(out[k], c.want[k], c.tol, c.name + " output " + std::to_string(k));
}

std::string case_name(const ::testing::TestParamInfo<Case> &info) {
  return info.param.name;
}

// t = [[[1,1,1],[2,2,2]], [[3,3,3],[4,4,4]], [[5,5,5],[6,6,6]]] from the
// tf.strided_slice documentation.
Tensor doc_t() {
  return i32({3, 2, 3}, {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6});
}

Attrs masks(int64_t begin, int64_t end, int64_t ellipsis = 0, int64_t new_axis = 0,
            int64_t shrink = 0) {
  return {{"begin_mask", begin},
          {"end_mask", end},
          {"ellipsis_mask", ellipsis},
          {"new_axis_mask", new_axis},
          {"shrink_axis_mask", shrink}};
}

std::vector<Case> strided_slice_cases() {
  Tensor five = iota(DType::f32, {5}), six = iota(DType::i32, {6});
  Tensor m23 = i32({2, 3}, {1, 2, 3, 4, 5, 6});
  return {
      // The three examples of the TF documentation.
      {"DocExample1",
       "StridedSlice",
       {doc_t(), vec({1, 0, 0}), vec({2, 1, 3}), vec({1, 1, 1})},
       masks(0, 0),
       {i32({1, 1, 3}, {3, 3, 3})}},
      {"DocExample2",
       "StridedSlice",
       {doc_t(), vec({1, 0, 0}), vec({2, 2, 3}), vec({1, 1, 1})},
       masks(0, 0),
       {i32({1, 2, 3}, {3, 3, 3, 4, 4, 4})}},
      {"DocExample3NegativeStride",
       "StridedSlice",
       {doc_t(), vec({1, -1, 0}), vec({2, -3, 3}), vec({1, -1, 1})},
       masks(0, 0),
       {i32({1, 2, 3}, {4, 4, 4, 3, 3, 3})}},
      // t[1]: shrink axis 0; the other dims come from the implied ellipsis.
      {"ShrinkFirst",
       "StridedSlice",
       {doc_t(), vec({1}), vec({2}), vec({1})},
       masks(0, 0, 0, 0, 1),
       {i32({2, 3}, {3, 3, 3, 4, 4, 4})}},
      // t[-1]: negative shrink index counts from the back.
      {"ShrinkNegative",
       "StridedSlice",
       {doc_t(), vec({-1}), vec({0}), vec({1})},
       masks(0, 0, 0, 0, 1),
       {i32({2, 3}, {5, 5, 5, 6, 6, 6})}},
      // t[..., tf.newaxis, 0] -> [3,2,1].
      {"EllipsisNewAxisShrink",
       "StridedSlice",
       {doc_t(), vec({0, 0, 0}), vec({0, 0, 1}), vec({1, 1, 1})},
       masks(0, 0, 1, 2, 4),
       {i32({3, 2, 1}, {1, 2, 3, 4, 5, 6})}},
      // t[tf.newaxis, :, 1] -> [1,3,3].
      {"NewAxisFirst",
       "StridedSlice",
       {doc_t(), vec({0, 0, 1}), vec({0, 0, 2}), vec({1, 1, 1})},
       masks(2, 2, 0, 1, 4),
       {i32({1, 3, 3}, {2, 2, 2, 4, 4, 4, 6, 6, 6})}},
      // m[:, 1] on [[1,2,3],[4,5,6]].
      {"ColumnShrink",
       "StridedSlice",
       {m23, vec({0, 1}), vec({0, 2}), vec({1, 1})},
       masks(1, 1, 0, 0, 2),
       {i32({2}, {2, 5})}},
      // x[::-1] with both masks: the whole vector reversed.
      {"ReverseMasked",
       "StridedSlice",
       {five, vec({0}), vec({0}), vec({-1})},
       masks(1, 1),
       {f32({5}, {4, 3, 2, 1, 0})}},
      // x[-2::-2] on 0..5: 4, 2, 0 (end_mask going backward reaches index 0).
      {"NegativeStrideEndMask",
       "StridedSlice",
       {six, vec({-2}), vec({0}), vec({-2})},
       masks(0, 1),
       {i32({3}, {4, 2, 0})}},
      // x[4:0:-1] stops before 0.
      {"NegativeStrideStop",
       "StridedSlice",
       {six, vec({4}), vec({0}), vec({-1})},
       masks(0, 0),
       {i32({4}, {4, 3, 2, 1})}},
      // Out-of-range begin/end clamp: x[-10:10:2].
      {"ClampedStep2",
       "StridedSlice",
       {six, vec({-10}), vec({10}), vec({2})},
       masks(0, 0),
       {i32({3}, {0, 2, 4})}},
      // x[3:1] is empty.
      {"Empty", "StridedSlice", {six, vec({3}), vec({1}), vec({1})}, masks(0, 0), {i32({0}, {})}},
      // int64 begin/end/strides are accepted as well.
      {"Int64Spec",
       "StridedSlice",
       {six, i64({1}, {1}), i64({1}, {-1}), i64({1}, {3})},
       masks(0, 0),
       {i32({2}, {1, 4})}},
      // TF Slice: begin [1,0], size [-1,2] on [[1,2,3],[4,5,6]] -> [[4,5]].
      {"SliceSizeMinusOne", "Slice", {m23, vec({1, 0}), vec({-1, 2})}, {}, {i32({1, 2}, {4, 5})}},
  };
}
INSTANTIATE_TEST_SUITE_P(StridedSlice, TfKernel, ::testing::ValuesIn(strided_slice_cases()),
                         case_name);

// Three clusters of boxes (from TensorFlow's NMS tests): the clusters' best
// boxes are 3, 0 and 5.
Tensor cluster_boxes() {
  return f32({6, 4}, {0, 0,  1, 1,  0, 0.1f,  1, 1.1f,  0, -0.1f, 1, 0.9f,
                      0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100,   1, 101});
}
// The same boxes with some corners given in the other order.
Tensor cluster_boxes_flipped() {
  return f32({6, 4}, {1, 1,  0, 0,  0, 0.1f,  1, 1.1f,  0, 0.9f, 1, -0.1f,
                      0, 10, 1, 11, 1, 10.1f, 0, 11.1f, 1, 101,  0, 100});
}
Tensor cluster_scores() {
  return f32({6}, {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f});
}

std::vector<Case> nms_cases() {
  Tensor b = cluster_boxes(), s = cluster_scores();
  // Greedy order matters: A overlaps B (IoU 1/3), B overlaps C (1/3), A and C
  // are disjoint. A suppresses B, so C survives.
  Tensor chain = f32({3, 4}, {0, 0, 1, 1, 0, 0.5f, 1, 1.5f, 0, 1, 1, 2});
  Tensor chain_s = f32({3}, {0.9f, 0.8f, 0.7f});
  // IoU exactly 0.5 (intersection 2, union 4) is not above a 0.5 threshold.
  Tensor half = f32({2, 4}, {0, 0, 1, 3, 0, 1, 1, 4});
  // Two identical boxes with equal scores: the lower index wins.
  Tensor ties = f32({3, 4}, {0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6});
  Tensor ties_s = f32({3}, {0.5f, 0.5f, 0.4f});
  // Soft NMS: B is A again (IoU 1) -> 0.8 * exp(-1 / (2 * 0.5)) = 0.294304.
  Tensor soft = f32({3, 4}, {0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6});
  Tensor soft_s = f32({3}, {0.9f, 0.8f, 0.5f});
  return {
      {"V2ThreeClusters", "NonMaxSuppressionV2", {b, s, s32(3), sf(0.5f)}, {}, {vec({3, 0, 5})}},
      {"V2FlippedCorners",
       "NonMaxSuppressionV2",
       {cluster_boxes_flipped(), s, s32(3), sf(0.5f)},
       {},
       {vec({3, 0, 5})}},
      {"V2MaxOutputTwo", "NonMaxSuppressionV2", {b, s, s32(2), sf(0.5f)}, {}, {vec({3, 0})}},
      {"V2MaxOutputZero", "NonMaxSuppressionV2", {b, s, s32(0), sf(0.5f)}, {}, {vec({})}},
      {"V2GreedyChain",
       "NonMaxSuppressionV2",
       {chain, chain_s, s32(3), sf(0.3f)},
       {},
       {vec({0, 2})}},
      {"V2IouEqualKeeps",
       "NonMaxSuppressionV2",
       {half, f32({2}, {0.9f, 0.8f}), s32(2), sf(0.5f)},
       {},
       {vec({0, 1})}},
      {"V2TiesLowerIndex",
       "NonMaxSuppressionV2",
       {ties, ties_s, s32(3), sf(0.5f)},
       {},
       {vec({0, 2})}},
      {"V3ScoreThreshold",
       "NonMaxSuppressionV3",
       {b, s, s32(6), sf(0.5f), sf(0.4f)},
       {},
       {vec({3, 0})}},
      {"V4Padded",
       "NonMaxSuppressionV4",
       {b, s, s32(5), sf(0.5f), sf(0.0f)},
       {{"pad_to_max_output_size", int64_t{1}}},
       {vec({3, 0, 5, 0, 0}), s32(3)}},
      {"V4NotPadded",
       "NonMaxSuppressionV4",
       {b, s, s32(5), sf(0.5f), sf(0.0f)},
       {},
       {vec({3, 0, 5}), s32(3)}},
      {"V5Hard",
       "NonMaxSuppressionV5",
       {b, s, s32(6), sf(0.5f), sf(0.0f), sf(0.0f)},
       {},
       {vec({3, 0, 5}), f32({3}, {0.95f, 0.9f, 0.3f}), s32(3)},
       1e-6},
      {"V5Soft",
       "NonMaxSuppressionV5",
       {soft, soft_s, s32(3), sf(0.5f), sf(0.0f), sf(0.5f)},
       {},
       {vec({0, 2, 1}), f32({3}, {0.9f, 0.5f, 0.8f * std::exp(-1.f)}), s32(3)},
       1e-6},
      {"V5SoftBelowThreshold",
       "NonMaxSuppressionV5",
       {soft, soft_s, s32(3), sf(0.5f), sf(0.3f), sf(0.5f)},
       {{"pad_to_max_output_size", int64_t{1}}},
       {vec({0, 2, 0}), f32({3}, {0.9f, 0.5f, 0}), s32(2)},
       1e-6},
  };
}
INSTANTIATE_TEST_SUITE_P(Nms, TfKernel, ::testing::ValuesIn(nms_cases()), case_name);

std::vector<Case> select_topk_cases() {
  Tensor x = i32({2, 2}, {1, 2, 3, 4}), y = i32({2, 2}, {5, 6, 7, 8});
  return {
      // Ties: the lower index first; indices are int32.
      {"TopKTies",
       "TopKV2",
       {i32({2, 4}, {1, 3, 2, 3, 5, 4, 4, 6}), s32(2)},
       {},
       {i32({2, 2}, {3, 3, 6, 5}), i32({2, 2}, {1, 3, 3, 0})}},
      {"TopKFloatAll",
       "TopKV2",
       {f32({3}, {0.5f, -1, 2}), s32(3)},
       {},
       {f32({3}, {2, 0.5f, -1}), vec({2, 0, 1})}},
      {"WhereBool",
       "Where",
       {b8({2, 2}, {true, false, false, true})},
       {},
       {i64({2, 2}, {0, 0, 1, 1})}},
      {"WhereFloat", "Where", {f32({4}, {0, 2.5f, 0, -1})}, {}, {i64({2, 1}, {1, 3})}},
      {"WhereNone",
       "Where",
       {b8({2, 3}, {false, false, false, false, false, false})},
       {},
       {i64({0, 2}, {})}},
      // Select v1: a vector condition picks whole rows.
      {"SelectRows", "Select", {b8({2}, {true, false}), x, y}, {}, {i32({2, 2}, {1, 2, 7, 8})}},
      {"SelectSameShape",
       "Select",
       {b8({2, 2}, {true, false, false, true}), x, y},
       {},
       {i32({2, 2}, {1, 6, 7, 4})}},
      // SelectV2 broadcasts: a [2] condition picks columns.
      {"SelectV2Broadcast",
       "SelectV2",
       {b8({2}, {true, false}), x, y},
       {},
       {i32({2, 2}, {1, 6, 3, 8})}},
      {"WhereThreeInputs",
       "Where",
       {b8({2}, {false, true}), x, y},
       {},
       {i32({2, 2}, {5, 6, 3, 4})}},
  };
}
INSTANTIATE_TEST_SUITE_P(SelectTopK, TfKernel, ::testing::ValuesIn(select_topk_cases()), case_name);

Attrs resize_attrs(int64_t align, int64_t half) {
  return {{"align_corners", align}, {"half_pixel_centers", half}};
}

// A 2x2 image [[0,1],[2,3]] is the bilinear plane v = 2*row + col, so every
// in-range sample is 2*src_row + src_col with sources clamped to [0, 1].
std::vector<Case> image_cases() {
  Tensor img = f32({1, 2, 2, 1}, {0, 1, 2, 3});
  Tensor img_u8 = tensor<uint8_t>({1, 2, 2, 1}, {0, 1, 2, 3});
  Tensor img_i32 = i32({1, 2, 2, 1}, {0, 1, 2, 3});
  // 3x3 image v = 3y + x with a second batch image 10 + v.
  Tensor big = iota(DType::f32, {2, 3, 3, 1});
  for (int64_t i = 9; i < 18; ++i)
    big.data<float>()[i] = 10 + float(i - 9);
  const float t = 2.f / 3, h = 1.f / 3;
  Attrs nearest{{"method", std::string("nearest")}};
  Attrs extrap{{"extrapolation_value", 9.5f}};
  return {
      // TF1 legacy: src = dst * 2/3 -> 0, 2/3, 4/3 (its upper neighbour clamped
      // to 1, so it samples 1).
      {"BilinearLegacy",
       "ResizeBilinear",
       {img, vec({3, 3})},
       resize_attrs(0, 0),
       {f32({1, 3, 3, 1}, {0, t, 1, 2 * t, 2, 2 + h, 2, 2 + t, 3})},
       1e-5},
      // half_pixel_centers: src = (dst + 0.5) * 2/3 - 0.5 -> -1/6 (row 0), 0.5, 7/6 (1).
      {"BilinearHalfPixel",
       "ResizeBilinear",
       {img, vec({3, 3})},
       resize_attrs(0, 1),
       {f32({1, 3, 3, 1}, {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3})},
       1e-5},
      // align_corners 2 -> 4: src = dst / 3.
      {"BilinearAlignCorners",
       "ResizeBilinear",
       {img, vec({1, 4})},
       resize_attrs(1, 0),
       {f32({1, 1, 4, 1}, {0, h, 2 * h, 1})},
       1e-5},
      {"BilinearUint8InFloatOut",
       "ResizeBilinear",
       {img_u8, vec({3, 3})},
       resize_attrs(0, 1),
       {f32({1, 3, 3, 1}, {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3})},
       1e-5},
      // Nearest legacy: floor(dst * 2/3) = 0, 0, 1.
      {"NearestLegacy",
       "ResizeNearestNeighbor",
       {img_i32, vec({3, 3})},
       resize_attrs(0, 0),
       {i32({1, 3, 3, 1}, {0, 0, 1, 0, 0, 1, 2, 2, 3})}},
      // Nearest half pixel: floor((dst + 0.5) * 2/3) = 0, 1, 1.
      {"NearestHalfPixel",
       "ResizeNearestNeighbor",
       {img_i32, vec({3, 3})},
       resize_attrs(0, 1),
       {i32({1, 3, 3, 1}, {0, 1, 1, 2, 3, 3, 2, 3, 3})}},
      // Nearest align_corners 2 -> 4: round(dst / 3) = 0, 0, 1, 1.
      {"NearestAlignCorners",
       "ResizeNearestNeighbor",
       {img_i32, vec({1, 4})},
       resize_attrs(1, 0),
       {i32({1, 1, 4, 1}, {0, 0, 1, 1})}},
      // The whole image as a 3x3 crop is the image itself.
      {"CropWholeImage",
       "CropAndResize",
       {big, f32({1, 4}, {0, 0, 1, 1}), vec({0}), vec({3, 3})},
       {},
       {f32({1, 3, 3, 1}, {0, 1, 2, 3, 4, 5, 6, 7, 8})},
       1e-6},
      // A 2x2 crop of the whole image samples the corner pixels, of batch 1.
      {"CropCornersBatch1",
       "CropAndResize",
       {big, f32({1, 4}, {0, 0, 1, 1}), vec({1}), vec({2, 2})},
       {},
       {f32({1, 2, 2, 1}, {10, 12, 16, 18})},
       1e-6},
      // A 1x1 crop samples the box center: (1, 1) -> 4.
      {"CropCenter",
       "CropAndResize",
       {big, f32({1, 4}, {0, 0, 1, 1}), vec({0}), vec({1, 1})},
       {},
       {f32({1, 1, 1, 1}, {4})},
       1e-6},
      // Box [0,0,.25,.25] crop 2x2: sources 0 and 0.5 -> 0, 0.5, 1.5, 2.
      {"CropBilinear",
       "CropAndResize",
       {big, f32({1, 4}, {0, 0, 0.25f, 0.25f}), vec({0}), vec({2, 2})},
       {},
       {f32({1, 2, 2, 1}, {0, 0.5f, 1.5f, 2})},
       1e-6},
      // Nearest rounds 0.5 away from zero -> pixels (0,0) (0,1) (1,0) (1,1).
      {"CropNearest",
       "CropAndResize",
       {big, f32({1, 4}, {0, 0, 0.25f, 0.25f}), vec({0}), vec({2, 2})},
       nearest,
       {f32({1, 2, 2, 1}, {0, 1, 3, 4})},
       1e-6},
      // Box [0,0,2,2]: sources 0, 2, 4; 4 is outside -> extrapolation_value.
      {"CropExtrapolate",
       "CropAndResize",
       {big, f32({1, 4}, {0, 0, 2, 2}), vec({0}), vec({3, 3})},
       extrap,
       {f32({1, 3, 3, 1}, {0, 2, 9.5f, 6, 8, 9.5f, 9.5f, 9.5f, 9.5f})},
       1e-6},
      // Flipped box [1,1,0,0] mirrors the image.
      {"CropFlipped",
       "CropAndResize",
       {big, f32({1, 4}, {1, 1, 0, 0}), vec({0}), vec({2, 2})},
       {},
       {f32({1, 2, 2, 1}, {8, 6, 2, 0})},
       1e-6},
  };
}
INSTANTIATE_TEST_SUITE_P(Image, TfKernel, ::testing::ValuesIn(image_cases()), case_name);

std::vector<Case> generate_cases() {
  return {
      {"FillFloat",
       "Fill",
       {vec({2, 3}), sf(1.5f)},
       {},
       {f32({2, 3}, {1.5, 1.5, 1.5, 1.5, 1.5, 1.5})}},
      {"FillInt", "Fill", {vec({2}), s32(7)}, {}, {i32({2}, {7, 7})}},
      {"FillEmpty", "Fill", {vec({0, 4}), s32(7)}, {}, {i32({0, 4}, {})}},
      {"RangeInt", "Range", {s32(3), s32(18), s32(3)}, {}, {i32({5}, {3, 6, 9, 12, 15})}},
      {"RangeFloatDown", "Range", {sf(3), sf(1), sf(-0.5f)}, {}, {f32({4}, {3, 2.5f, 2, 1.5f})}},
      {"RangeEmpty", "Range", {s32(4), s32(4), s32(1)}, {}, {i32({0}, {})}},
      {"ZerosLike", "ZerosLike", {i32({2}, {5, 6})}, {}, {i32({2}, {0, 0})}},
      {"OnesLike", "OnesLike", {f32({3}, {5, 6, 7})}, {}, {f32({3}, {1, 1, 1})}},
  };
}
INSTANTIATE_TEST_SUITE_P(Generate, TfKernel, ::testing::ValuesIn(generate_cases()), case_name);

int64_t dt(DType t) {
  return static_cast<int64_t>(t);
}

std::vector<Case> shape_cases() {
  Tensor x = iota(DType::i32, {2, 3});
  return {
      {"Shape", "Shape", {iota(DType::f32, {2, 3, 0})}, {}, {vec({2, 3, 0})}},
      {"ShapeInt64", "Shape", {x}, {{"out_type", dt(DType::i64)}}, {i64({2}, {2, 3})}},
      {"Size", "Size", {x}, {}, {s32(6)}},
      {"Rank", "Rank", {x}, {}, {s32(2)}},
      {"ReshapeInfer", "Reshape", {x, vec({3, -1})}, {}, {i32({3, 2}, {0, 1, 2, 3, 4, 5})}},
      {"ReshapeScalar", "Reshape", {i32({1}, {4}), vec({})}, {}, {i32({}, {4})}},
      {"ReshapeEmpty", "Reshape", {iota(DType::i32, {0, 3}), vec({-1, 3})}, {}, {i32({0, 3}, {})}},
      {"ExpandDimsLast", "ExpandDims", {x, s32(-1)}, {}, {iota(DType::i32, {2, 3, 1})}},
      {"ExpandDimsFirst", "ExpandDims", {x, vec({0})}, {}, {iota(DType::i32, {1, 2, 3})}},
      {"ExpandDimsRank", "ExpandDims", {x, s32(2)}, {}, {iota(DType::i32, {2, 3, 1})}},
      {"SqueezeDims",
       "Squeeze",
       {iota(DType::i32, {1, 2, 1})},
       {{"squeeze_dims", std::vector<int64_t>{2}}},
       {iota(DType::i32, {1, 2})}},
      {"SqueezeAll", "Squeeze", {iota(DType::i32, {1, 2, 1})}, {}, {iota(DType::i32, {2})}},
  };
}
INSTANTIATE_TEST_SUITE_P(Shape, TfKernel, ::testing::ValuesIn(shape_cases()), case_name);

std::vector<Case> array_cases() {
  Tensor a = vec({1, 2}), b = vec({3, 4});
  Tensor x = iota(DType::i32, {2, 3}), m = i32({2, 2}, {1, 2, 3, 4});
  Tensor params = i32({3, 2}, {1, 2, 3, 4, 5, 6});
  return {
      {"PackAxis0", "Pack", {a, b}, {{"axis", int64_t{0}}}, {i32({2, 2}, {1, 2, 3, 4})}},
      {"PackAxis1", "Pack", {a, b}, {{"axis", int64_t{1}}}, {i32({2, 2}, {1, 3, 2, 4})}},
      {"PackNegativeAxis", "Pack", {a, b}, {{"axis", int64_t{-1}}}, {i32({2, 2}, {1, 3, 2, 4})}},
      {"PackScalars", "Pack", {s32(7), s32(8), s32(9)}, {}, {vec({7, 8, 9})}},
      {"UnpackAxis1",
       "Unpack",
       {x},
       {{"axis", int64_t{1}}, {"num", int64_t{3}}},
       {vec({0, 3}), vec({1, 4}), vec({2, 5})}},
      {"ConcatV2LastAxis",
       "ConcatV2",
       {m, m, s32(-1)},
       {},
       {i32({2, 4}, {1, 2, 1, 2, 3, 4, 3, 4})}},
      {"ConcatV1", "Concat", {s32(0), a, b}, {}, {vec({1, 2, 3, 4})}},
      {"SplitColumns",
       "Split",
       {s32(1), x},
       {{"num_split", int64_t{3}}},
       {i32({2, 1}, {0, 3}), i32({2, 1}, {1, 4}), i32({2, 1}, {2, 5})}},
      {"SplitVRest",
       "SplitV",
       {iota(DType::i32, {5}), vec({2, -1}), s32(0)},
       {},
       {vec({0, 1}), vec({2, 3, 4})}},
      {"GatherV2Rows", "GatherV2", {params, vec({2, 0}), s32(0)}, {}, {i32({2, 2}, {5, 6, 1, 2})}},
      {"GatherV2Axis1",
       "GatherV2",
       {params, i32({1, 1}, {1}), s32(1)},
       {},
       {i32({3, 1, 1}, {2, 4, 6})}},
      {"GatherV1", "Gather", {params, i64({2}, {1, 1})}, {}, {i32({2, 2}, {3, 4, 3, 4})}},
      {"Tile",
       "Tile",
       {i32({1, 2}, {1, 2}), vec({2, 2})},
       {},
       {i32({2, 4}, {1, 2, 1, 2, 1, 2, 1, 2})}},
      {"Transpose", "Transpose", {x, vec({1, 0})}, {}, {i32({3, 2}, {0, 3, 1, 4, 2, 5})}},
  };
}
INSTANTIATE_TEST_SUITE_P(Array, TfKernel, ::testing::ValuesIn(array_cases()), case_name);

std::vector<Case> pad_cases() {
  Tensor m = i32({2, 2}, {1, 2, 3, 4});
  // The tf.pad documentation's t = [[1,2,3],[4,5,6]], paddings [[1,1],[2,2]].
  Tensor t = i32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor p = i32({2, 2}, {1, 1, 2, 2});
  // The SpaceToBatchND / BatchToSpaceND documentation's examples.
  Tensor x16 = iota(DType::f32, {1, 4, 4, 1});
  for (int64_t i = 0; i < 16; ++i)
    x16.data<float>()[i] += 1;
  Tensor blocks = f32({4, 2, 2, 1}, {1, 3, 9, 11, 2, 4, 10, 12, 5, 7, 13, 15, 6, 8, 14, 16});
  Tensor x2 = f32({2, 2, 4, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  Tensor padded_blocks = f32({8, 1, 3, 1}, {0, 1, 3, 0, 9,  11, 0, 2, 4, 0, 10, 12,
                                            0, 5, 7, 0, 13, 15, 0, 6, 8, 0, 14, 16});
  Tensor block = vec({2, 2}), none = i32({2, 2}, {0, 0, 0, 0}), left2 = i32({2, 2}, {0, 0, 2, 0});
  return {
      {"Pad",
       "Pad",
       {m, i32({2, 2}, {1, 0, 0, 1})},
       {},
       {i32({3, 3}, {0, 0, 0, 1, 2, 0, 3, 4, 0})}},
      {"PadV2Constant",
       "PadV2",
       {m, i64({2, 2}, {0, 0, 1, 0}), s32(9)},
       {},
       {i32({2, 3}, {9, 1, 2, 9, 3, 4})}},
      {"MirrorPadReflect",
       "MirrorPad",
       {t, p},
       {{"mode", std::string("REFLECT")}},
       {i32({4, 7},
            {6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1})}},
      {"MirrorPadSymmetric",
       "MirrorPad",
       {t, p},
       {{"mode", std::string("SYMMETRIC")}},
       {i32({4, 7},
            {2, 1, 1, 2, 3, 3, 2, 2, 1, 1, 2, 3, 3, 2, 5, 4, 4, 5, 6, 6, 5, 5, 4, 4, 5, 6, 6, 5})}},
      {"SpaceToBatch",
       "SpaceToBatchND",
       {f32({1, 2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), block, none},
       {},
       {f32({4, 1, 1, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})}},
      {"SpaceToBatch4x4", "SpaceToBatchND", {x16, block, none}, {}, {blocks}},
      {"SpaceToBatchPadded", "SpaceToBatchND", {x2, block, left2}, {}, {padded_blocks}},
      {"BatchToSpace4x4", "BatchToSpaceND", {blocks, block, none}, {}, {x16}},
      {"BatchToSpaceCropped", "BatchToSpaceND", {padded_blocks, block, left2}, {}, {x2}},
  };
}
INSTANTIATE_TEST_SUITE_P(Pad, TfKernel, ::testing::ValuesIn(pad_cases()), case_name);

Attrs reduce_attrs(int64_t keep) {
  return {{"keep_dims", keep}};
}

std::vector<Case> math_cases() {
  Tensor x = iota(DType::i32, {2, 3});
  Tensor bools = b8({2, 2}, {true, false, true, true});
  Tensor q_u8 = tensor<uint8_t>({3}, {0, 255, 128});
  Tensor q_i8 = tensor<int8_t>({3}, {-128, 127, 0});
  Tensor s_i8 = tensor<int8_t>({3}, {-127, 127, 64});
  Attrs dq_first{{"mode", std::string("MIN_FIRST")}}, dq_scaled{{"mode", std::string("SCALED")}};
  return {
      // Cast truncates toward zero; to bool is "non-zero".
      {"CastToInt",
       "Cast",
       {f32({3}, {1.7f, -1.7f, 0})},
       {{"DstT", dt(DType::i32)}},
       {vec({1, -1, 0})}},
      {"CastToBool",
       "Cast",
       {f32({3}, {1.7f, -1.7f, 0})},
       {{"DstT", dt(DType::boolean)}},
       {b8({3}, {true, true, false})}},
      {"CastIntToFloat", "Cast", {vec({3, -2})}, {{"DstT", dt(DType::f32)}}, {f32({2}, {3, -2})}},
      // Banker's rounding.
      {"RoundHalfEven",
       "Round",
       {f32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f})},
       {},
       {f32({6}, {0, 2, 2, 0, -2, 2})}},
      {"RoundInt", "Round", {vec({3, -4})}, {}, {vec({3, -4})}},
      {"SumAxis1", "Sum", {x, vec({1})}, reduce_attrs(0), {vec({3, 12})}},
      {"SumKeepDims", "Sum", {x, s32(-1)}, reduce_attrs(1), {i32({2, 1}, {3, 12})}},
      {"SumNoAxes", "Sum", {x, vec({})}, reduce_attrs(0), {x}},
      {"SumAll", "Sum", {x, vec({0, 1})}, reduce_attrs(0), {s32(15)}},
      {"MeanIntTruncates",
       "Mean",
       {i32({2, 2}, {1, 2, 3, 5}), vec({1})},
       reduce_attrs(0),
       {vec({1, 4})}},
      {"ProdAxis0", "Prod", {x, vec({0})}, reduce_attrs(0), {vec({0, 4, 10})}},
      {"MaxAxis0",
       "Max",
       {f32({2, 2}, {1, -5, 3, -7}), vec({0})},
       reduce_attrs(0),
       {f32({2}, {3, -5})}},
      {"MinAxis1",
       "Min",
       {f32({2, 2}, {1, -5, 3, -7}), vec({1})},
       reduce_attrs(0),
       {f32({2}, {-5, -7})}},
      {"AllAxis1", "All", {bools, vec({1})}, reduce_attrs(0), {b8({2}, {false, true})}},
      {"AnyAxis0", "Any", {bools, vec({0})}, reduce_attrs(0), {b8({2}, {true, true})}},
      {"ArgMaxFirstWins",
       "ArgMax",
       {i32({2, 3}, {1, 3, 3, 4, 0, 4}), s32(1)},
       {},
       {i64({2}, {1, 0})}},
      {"ArgMaxInt32",
       "ArgMax",
       {i32({2, 3}, {1, 3, 3, 4, 0, 4}), s32(0)},
       {{"output_type", dt(DType::i32)}},
       {vec({1, 0, 1})}},
      {"ArgMin", "ArgMin", {f32({3}, {2, -1, -1}), s32(0)}, {}, {i64({}, {1})}},
      {"Softmax",
       "Softmax",
       {f32({1, 3}, {1, 2, 3})},
       {},
       {f32({1, 3}, {0.09003057f, 0.24472847f, 0.66524096f})},
       1e-6},
      {"Rsqrt", "Rsqrt", {f32({3}, {4, 0.25f, 1})}, {}, {f32({3}, {0.5f, 2, 1})}, 1e-6},
      {"Square", "Square", {vec({3, -2})}, {}, {vec({9, 4})}},
      {"AddN", "AddN", {vec({1, 2}), vec({10, 20}), vec({100, 200})}, {}, {vec({111, 222})}},
      {"BiasAddNHWC",
       "BiasAdd",
       {f32({2, 2}, {1, 2, 3, 4}), f32({2}, {10, 20})},
       {},
       {f32({2, 2}, {11, 22, 13, 24})}},
      {"BiasAddNCHW",
       "BiasAdd",
       {f32({1, 2, 1, 2}, {1, 2, 3, 4}), f32({2}, {10, 20})},
       {{"data_format", std::string("NCHW")}},
       {f32({1, 2, 1, 2}, {11, 12, 23, 24})}},
      // quint8 MIN_COMBINED: q * 6 / 255.
      {"DequantizeMinCombined",
       "Dequantize",
       {q_u8, sf(0), sf(6)},
       {},
       {f32({3}, {0, 6, 128 * 6.f / 255})},
       1e-6},
      // qint8 MIN_COMBINED: (q + 128) * 2 / 255 - 1.
      {"DequantizeMinCombinedQint8",
       "Dequantize",
       {q_i8, sf(-1), sf(1)},
       {},
       {f32({3}, {-1, 1, 128 * 2.f / 255 - 1})},
       1e-6},
      // MIN_FIRST rounds min to whole steps of 2.3/255: -144.1 steps -> -144,
      // so q = 144 is exactly 0.
      {"DequantizeMinFirstRoundsMin",
       "Dequantize",
       {tensor<uint8_t>({3}, {0, 255, 144}), sf(-1.3f), sf(1)},
       dq_first,
       {f32({3}, {-144 * 2.3f / 255, 111 * 2.3f / 255, 0})},
       1e-6},
      {"DequantizeMinFirstUnrounded",
       "Dequantize",
       {q_u8, sf(0), sf(6)},
       dq_first,
       {f32({3}, {0, 6, 128 * 6.f / 255})},
       1e-6},
      {"DequantizeMinFirstQint8",
       "Dequantize",
       {tensor<int8_t>({3}, {-128, 127, 16}), sf(-1.3f), sf(1)},
       dq_first,
       {f32({3}, {-144 * 2.3f / 255, 111 * 2.3f / 255, 0})},
       1e-6},
      {"DequantizeScaled",
       "Dequantize",
       {s_i8, sf(-1), sf(1)},
       dq_scaled,
       {f32({3}, {-1, 1, 64.f / 127})},
       1e-6},
      {"DequantizeScaledQuint8",
       "Dequantize",
       {tensor<uint8_t>({1}, {255}), sf(0), sf(6)},
       dq_scaled,
       {f32({1}, {6})},
       1e-6},
      // Floor division and its modulo (sign of the divisor).
      {"FloorDivInt",
       "FloorDiv",
       {vec({7, -7, 7, -7}), vec({2, 2, -2, -2})},
       {},
       {vec({3, -4, -4, 3})}},
      {"FloorDivFloat",
       "FloorDiv",
       {f32({2}, {7.5f, -7.5f}), f32({1}, {2})},
       {},
       {f32({2}, {3, -4})}},
      {"FloorModInt",
       "FloorMod",
       {vec({7, -7, 7, -7}), vec({2, 2, -2, -2})},
       {},
       {vec({1, 1, -1, -1})}},
      {"NotEqualBroadcast",
       "NotEqual",
       {i32({2, 2}, {1, 2, 3, 1}), vec({1})},
       {},
       {b8({2, 2}, {false, true, true, false})}},
      {"NotEqualBool",
       "NotEqual",
       {b8({2}, {true, false}), b8({}, {true})},
       {},
       {b8({2}, {false, true})}},
      {"SquaredDifference",
       "SquaredDifference",
       {f32({2}, {1, -2}), f32({2}, {3, 1})},
       {},
       {f32({2}, {4, 9})}},
      {"FloorModFloat",
       "FloorMod",
       {f32({2}, {7.5f, -7.5f}), f32({1}, {2})},
       {},
       {f32({2}, {1.5f, 0.5f})}},
  };
}
INSTANTIATE_TEST_SUITE_P(Math, TfKernel, ::testing::ValuesIn(math_cases()), case_name);

// Examples of the TF documentation of each op.
std::vector<Case> more_cases() {
  Tensor d2s_in = f32({1, 2, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  Tensor d2s_out = f32({1, 4, 4, 1}, {1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16});
  Tensor abc = f32({3}, {1, 2, 3});
  Attrs excl{{"exclusive", int64_t{1}}}, rev{{"reverse", int64_t{1}}};
  Attrs both{{"exclusive", int64_t{1}}, {"reverse", int64_t{1}}};
  return {
      {"NmsV1AttrThreshold",
       "NonMaxSuppression",
       {cluster_boxes(), cluster_scores(), s32(3)},
       {{"iou_threshold", 0.5f}},
       {vec({3, 0, 5})}},
      {"NmsV1HighThresholdKeepsOverlaps",
       "NonMaxSuppression",
       {cluster_boxes(), cluster_scores(), s32(3)},
       {{"iou_threshold", 0.95f}},
       {vec({3, 0, 1})}},
      {"ClipByValueScalars",
       "ClipByValue",
       {f32({3}, {-2, 0.5f, 3}), sf(0), sf(1)},
       {},
       {f32({3}, {0, 0.5f, 1})}},
      {"ClipByValueTensors",
       "ClipByValue",
       {vec({1, 5}), vec({2, 0}), vec({3, 4})},
       {},
       {vec({2, 4})}},
      {"Cumsum", "Cumsum", {abc, s32(0)}, {}, {f32({3}, {1, 3, 6})}},
      {"CumsumExclusive", "Cumsum", {abc, s32(0)}, excl, {f32({3}, {0, 1, 3})}},
      {"CumsumReverse", "Cumsum", {abc, s32(0)}, rev, {f32({3}, {6, 5, 3})}},
      {"CumsumExclusiveReverse", "Cumsum", {abc, s32(-1)}, both, {f32({3}, {5, 3, 0})}},
      {"CumsumAxis0Of2D",
       "Cumsum",
       {i32({2, 2}, {1, 2, 3, 4}), s32(0)},
       {},
       {i32({2, 2}, {1, 2, 4, 6})}},
      {"BroadcastTo",
       "BroadcastTo",
       {vec({1, 2, 3}), vec({2, 3})},
       {},
       {i32({2, 3}, {1, 2, 3, 1, 2, 3})}},
      {"ReverseV2",
       "ReverseV2",
       {iota(DType::i32, {2, 3}), vec({1})},
       {},
       {i32({2, 3}, {2, 1, 0, 5, 4, 3})}},
      {"ReverseV2TwoAxes",
       "ReverseV2",
       {iota(DType::i32, {2, 3}), vec({-2, 1})},
       {},
       {i32({2, 3}, {5, 4, 3, 2, 1, 0})}},
      {"Unique",
       "Unique",
       {vec({1, 1, 2, 4, 4, 4, 7, 8, 8})},
       {},
       {vec({1, 2, 4, 7, 8}), vec({0, 0, 1, 2, 2, 2, 3, 4, 4})}},
      {"DepthToSpaceSingle",
       "DepthToSpace",
       {f32({1, 1, 1, 4}, {1, 2, 3, 4})},
       {{"block_size", int64_t{2}}},
       {f32({1, 2, 2, 1}, {1, 2, 3, 4})}},
      {"DepthToSpace", "DepthToSpace", {d2s_in}, {{"block_size", int64_t{2}}}, {d2s_out}},
      {"SpaceToDepth", "SpaceToDepth", {d2s_out}, {{"block_size", int64_t{2}}}, {d2s_in}},
  };
}
INSTANTIATE_TEST_SUITE_P(More, TfKernel, ::testing::ValuesIn(more_cases()), case_name);

// Empty tensors (no detections, no boxes) flow through without touching data.
std::vector<Case> empty_cases() {
  Tensor e = i32({0}, {}), e03 = i32({0, 3}, {});
  Tensor no_boxes = f32({0, 4}, {}), no_scores = f32({0}, {});
  return {
      {"PackEmpty", "Pack", {e, e}, {}, {i32({2, 0}, {})}},
      {"ConcatEmpty",
       "ConcatV2",
       {e03, iota(DType::i32, {1, 3}), s32(0)},
       {},
       {i32({1, 3}, {0, 1, 2})}},
      {"StridedSliceEmpty",
       "StridedSlice",
       {e03, vec({0}), vec({0}), vec({1})},
       masks(1, 1),
       {i32({0, 3}, {})}},
      {"GatherNoIndices", "GatherV2", {iota(DType::i32, {3, 2}), e, s32(0)}, {}, {i32({0, 2}, {})}},
      {"GatherFromEmpty", "GatherV2", {e03, e, s32(0)}, {}, {i32({0, 3}, {})}},
      {"TileZero", "Tile", {vec({1, 2}), vec({0})}, {}, {e}},
      {"TransposeEmpty", "Transpose", {e03, vec({1, 0})}, {}, {i32({3, 0}, {})}},
      {"SplitEmpty",
       "Split",
       {s32(1), i32({0, 2}, {})},
       {{"num_split", int64_t{2}}},
       {i32({0, 1}, {}), i32({0, 1}, {})}},
      {"TopKZero", "TopKV2", {f32({3}, {1, 2, 3}), s32(0)}, {}, {f32({0}, {}), e}},
      {"NmsNoBoxes",
       "NonMaxSuppressionV3",
       {no_boxes, no_scores, s32(10), sf(0.5f), sf(0)},
       {},
       {e}},
      {"NmsNoBoxesPadded",
       "NonMaxSuppressionV4",
       {no_boxes, no_scores, s32(2), sf(0.5f), sf(0)},
       {{"pad_to_max_output_size", int64_t{1}}},
       {vec({0, 0}), s32(0)}},
      {"CropNoBoxes",
       "CropAndResize",
       {iota(DType::f32, {1, 3, 3, 2}), no_boxes, e, vec({2, 2})},
       {},
       {f32({0, 2, 2, 2}, {})}},
      {"ReshapeEmptyToEmpty", "Reshape", {e03, vec({3, 0})}, {}, {i32({3, 0}, {})}},
      {"SumOverEmpty", "Sum", {e03, vec({0})}, reduce_attrs(0), {vec({0, 0, 0})}},
      {"WhereEmpty", "Where", {b8({0, 2}, {})}, {}, {i64({0, 2}, {})}},
  };
}
INSTANTIATE_TEST_SUITE_P(Empty, TfKernel, ::testing::ValuesIn(empty_cases()), case_name);

// ---- bad input: InputError naming the node, never a crash ----

struct BadCase {
  std::string name, op;
  std::vector<Tensor> in;
  Attrs attrs;
  size_t n_out = 1;
};

void PrintTo(const BadCase &c, std::ostream *os) {
  *os << c.name;
}

class TfKernelError : public ::testing::TestWithParam<BadCase> {};

TEST_P(TfKernelError, ThrowsInputError) {
  const BadCase &c = GetParam();
  try {
    run_tf(c.op, c.in, c.attrs, c.n_out);
    FAIL() << c.name << ": no error";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("'n'"), std::string::npos) << e.what();
  }
}

std::vector<BadCase> bad_cases() {
  Tensor six = iota(DType::i32, {6});
  Tensor b = cluster_boxes(), s = cluster_scores();
  Tensor img = iota(DType::f32, {1, 3, 3, 1});
  return {
      {"SliceStrideZero", "StridedSlice", {six, vec({0}), vec({3}), vec({0})}, masks(0, 0)},
      {"SliceShrinkOutOfRange",
       "StridedSlice",
       {six, vec({6}), vec({7}), vec({1})},
       masks(0, 0, 0, 0, 1)},
      {"SliceLengthsDiffer", "StridedSlice", {six, vec({0, 0}), vec({3}), vec({1})}, masks(0, 0)},
      {"SliceTooManyIndices",
       "StridedSlice",
       {six, vec({0, 0}), vec({1, 1}), vec({1, 1})},
       masks(0, 0)},
      {"TfSliceOutOfRange", "Slice", {six, vec({4}), vec({3})}, {}},
      {"NmsBoxesShape",
       "NonMaxSuppressionV2",
       {f32({6, 3}, std::vector<float>(18)), s, s32(3), sf(0.5f)},
       {}},
      {"NmsScoresLength",
       "NonMaxSuppressionV2",
       {b, f32({5}, {1, 2, 3, 4, 5}), s32(3), sf(0.5f)},
       {}},
      {"NmsIouAboveOne", "NonMaxSuppressionV3", {b, s, s32(3), sf(1.5f), sf(0)}, {}},
      {"NmsNegativeMax", "NonMaxSuppressionV2", {b, s, s32(-1), sf(0.5f)}, {}},
      {"NmsMissingInput", "NonMaxSuppressionV3", {b, s, s32(3), sf(0.5f)}, {}},
      {"TopKTooLarge", "TopKV2", {f32({3}, {1, 2, 3}), s32(4)}, {}, 2},
      {"TopKNegative", "TopKV2", {f32({3}, {1, 2, 3}), s32(-1)}, {}, 2},
      {"SelectRowsMismatch",
       "Select",
       {b8({3}, {true, false, true}), six.reshaped({2, 3}), six.reshaped({2, 3})},
       {}},
      {"SelectXYDiffer", "Select", {b8({}, {true}), six, iota(DType::i32, {5})}, {}},
      {"ResizeNot4D", "ResizeBilinear", {iota(DType::f32, {3, 3}), vec({2, 2})}, {}},
      {"ResizeZeroSize", "ResizeBilinear", {img, vec({0, 2})}, {}},
      {"ResizeBothModes", "ResizeBilinear", {img, vec({2, 2})}, resize_attrs(1, 1)},
      {"CropBoxIndex",
       "CropAndResize",
       {img, f32({1, 4}, {0, 0, 1, 1}), vec({1}), vec({2, 2})},
       {}},
      {"CropBoxShape", "CropAndResize", {img, f32({1, 3}, {0, 0, 1}), vec({0}), vec({2, 2})}, {}},
      {"FillNegative", "Fill", {vec({2, -1}), sf(1)}, {}},
      {"FillValueNotScalar", "Fill", {vec({2}), f32({2}, {1, 2})}, {}},
      {"RangeDeltaZero", "Range", {s32(0), s32(4), s32(0)}, {}},
      {"RangeWrongDirection", "Range", {s32(5), s32(1), s32(1)}, {}},
      {"ReshapeMismatch", "Reshape", {six, vec({4, -1})}, {}},
      {"ReshapeTwoUnknown", "Reshape", {six, vec({-1, -1})}, {}},
      {"ExpandDimsOutOfRange", "ExpandDims", {six, s32(3)}, {}},
      {"SqueezeNotOne", "Squeeze", {six}, {{"squeeze_dims", std::vector<int64_t>{0}}}},
      {"PackShapesDiffer", "Pack", {vec({1, 2}), vec({1})}, {}},
      {"UnpackWrongNum",
       "Unpack",
       {
           six,
       },
       {{"num", int64_t{4}}},
       4},
      {"ConcatShapesDiffer", "ConcatV2", {six, six.reshaped({2, 3}), s32(0)}, {}},
      {"SplitNotDivisible", "Split", {s32(0), six}, {{"num_split", int64_t{4}}}, 4},
      {"SplitVSizesWrong", "SplitV", {six, vec({2, 2}), s32(0)}, {}, 2},
      {"GatherNegativeIndex", "GatherV2", {six, vec({-1}), s32(0)}, {}},
      {"GatherIndexTooLarge", "GatherV2", {six, vec({6}), s32(0)}, {}},
      {"TileWrongLength", "Tile", {six, vec({2, 2})}, {}},
      {"TransposeRepeats", "Transpose", {six.reshaped({2, 3}), vec({0, 0})}, {}},
      {"PadNegative", "Pad", {six, i32({1, 2}, {-1, 0})}, {}},
      {"PadWrongShape", "Pad", {six, vec({1, 1})}, {}},
      {"MirrorPadTooLarge",
       "MirrorPad",
       {six, i32({1, 2}, {6, 0})},
       {{"mode", std::string("REFLECT")}}},
      {"SpaceToBatchIndivisible",
       "SpaceToBatchND",
       {iota(DType::f32, {1, 3, 3, 1}), vec({2, 2}), i32({2, 2}, {0, 0, 0, 0})},
       {}},
      {"BatchToSpaceIndivisible",
       "BatchToSpaceND",
       {iota(DType::f32, {3, 1, 1, 1}), vec({2, 2}), i32({2, 2}, {0, 0, 0, 0})},
       {}},
      {"SumAxisOutOfRange", "Sum", {six, vec({1})}, {}},
      {"AllOnFloat", "All", {iota(DType::f32, {2}), vec({0})}, {}},
      {"AddNShapesDiffer", "AddN", {six, vec({1})}, {}},
      {"BiasAddWrongSize", "BiasAdd", {iota(DType::f32, {2, 3}), f32({2}, {1, 2})}, {}},
      {"DequantizeRangeCount",
       "Dequantize",
       {tensor<uint8_t>({2}, {1, 2}), f32({2}, {0, 0}), sf(1)},
       {}},
      {"FloorDivByZero", "FloorDiv", {vec({1, 2}), vec({1, 0})}, {}},
      {"FloorModByZero", "FloorMod", {vec({1, 2}), s32(0)}, {}},
      {"ClipBoundsShape", "ClipByValue", {vec({1, 2, 3}), vec({0, 0}), s32(1)}, {}},
      {"BroadcastToNarrower", "BroadcastTo", {vec({1, 2, 3}), vec({2, 1})}, {}},
      {"ReverseAxisTwice", "ReverseV2", {six, vec({0, -1})}, {}},
      {"UniqueNotVector", "Unique", {six.reshaped({2, 3})}, {}, 2},
      {"DepthToSpaceIndivisible",
       "DepthToSpace",
       {iota(DType::f32, {1, 1, 1, 6})},
       {{"block_size", int64_t{2}}}},
      {"SpaceToDepthIndivisible",
       "SpaceToDepth",
       {iota(DType::f32, {1, 3, 2, 1})},
       {{"block_size", int64_t{2}}}},
  };
}
INSTANTIATE_TEST_SUITE_P(Bad, TfKernelError, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase> &i) { return i.param.name; });

// ---- through the executor: computed slice bounds change between runs ----

// x -> tf:StridedSlice(x, begin=[0], end=<graph input>, strides=[1]): the end
// value changes from run to run while its shape stays [1], so the node must be
// re-inferred every run.
TEST(TfKernelExecutor, StridedSliceWithComputedEndReinfers) {
  auto g = std::make_shared<Graph>();
  g->inputs = {{"x", DType::f32, {}, false}, {"end", DType::i32, {}, false}};
  g->initializers["begin"] = vec({0});
  g->initializers["strides"] = vec({1});
  Node n = tf_node("StridedSlice", 0, 1, masks(0, 0));
  n.inputs = {"x", "begin", "end", "strides"};
  n.outputs = {"y"};
  g->nodes.push_back(n);
  g->outputs = {{"y", DType::f32, {}, false}};
  Executor ex(g, {.threads = 1});
  Tensor x = iota(DType::f32, {6});
  for (int end : {2, 5, 3}) {
    auto out = ex.run({{"x", x}, {"end", vec({end})}});
    ASSERT_EQ(out[0].shape(), (Shape{end}));
    EXPECT_EQ(out[0].data<float>()[end - 1], float(end - 1));
  }
}

// Shape arithmetic: y = Reshape(x, Pack(StridedSlice(Shape(x))[0], -1)). The
// reshape target is fixed while x keeps its shape, so the kernel need not be
// re-inferred every run; a new x shape still re-plans everything.
TEST(TfKernelExecutor, ShapeArithmeticFollowsInputShape) {
  auto g = std::make_shared<Graph>();
  g->inputs = {{"x", DType::f32, {}, false}};
  g->initializers["b"] = vec({0});
  g->initializers["e"] = vec({1});
  g->initializers["s"] = vec({1});
  g->initializers["minus1"] = s32(-1);
  auto add = [&](const std::string &op, std::vector<std::string> in, std::string out, Attrs attrs) {
    Node n = tf_node(op, 0, 0, std::move(attrs));
    n.name = out;
    n.inputs = std::move(in);
    n.outputs = {out};
    g->nodes.push_back(n);
  };
  add("Shape", {"x"}, "shape", {});
  add("StridedSlice", {"shape", "b", "e", "s"}, "batch", masks(0, 0, 0, 0, 1));
  add("Pack", {"batch", "minus1"}, "target", {});
  add("Reshape", {"x", "target"}, "y", {});
  g->outputs = {{"y", DType::f32, {}, false}};
  Executor ex(g, {.threads = 1});
  for (Shape s : {Shape{2, 3, 4}, Shape{2, 3, 4}, Shape{5, 2, 1}, Shape{1, 6}}) {
    auto out = ex.run({{"x", iota(DType::f32, s)}});
    EXPECT_EQ(out[0].shape(), (Shape{s[0], shape_numel(s) / s[0]}));
    EXPECT_EQ(out[0].data<float>()[out[0].numel() - 1], float(out[0].numel() - 1));
  }
}

// A kernel told which inputs are fixed per signature is value-dependent only
// when its shape-giving inputs are not.
TEST(TfKernelExecutor, ValueDependenceFollowsFixedInputs) {
  Node n = tf_node("StridedSlice", 4, 1, masks(0, 0));
  std::unordered_set<std::string> fixed = {"in1", "in2", "in3"};
  EXPECT_TRUE(make_kernel(n, KernelEnv{})->value_dependent_shapes());
  EXPECT_FALSE(make_kernel(n, KernelEnv{.fixed_values = &fixed})->value_dependent_shapes());
  fixed.erase("in2");
  EXPECT_TRUE(make_kernel(n, KernelEnv{.fixed_values = &fixed})->value_dependent_shapes());
}

// NMS -> Range over the number selected: a value-dependent chain.
TEST(TfKernelExecutor, NmsCountFeedsRange) {
  auto g = std::make_shared<Graph>();
  g->inputs = {{"scores", DType::f32, {}, false}};
  g->initializers["boxes"] = cluster_boxes();
  g->initializers["max"] = s32(6);
  g->initializers["iou"] = sf(0.5f);
  g->initializers["th"] = sf(0.f);
  g->initializers["zero"] = s32(0);
  g->initializers["one"] = s32(1);
  Node nms = tf_node("NonMaxSuppressionV4", 0, 2, {});
  nms.inputs = {"boxes", "scores", "max", "iou", "th"};
  nms.outputs = {"sel", "count"};
  Node range = tf_node("Range", 0, 1, {});
  range.inputs = {"zero", "count", "one"};
  range.outputs = {"r"};
  g->nodes = {nms, range};
  g->outputs = {{"sel", DType::i32, {}, false}, {"r", DType::i32, {}, false}};
  Executor ex(g, {.threads = 1});
  auto out = ex.run({{"scores", cluster_scores()}});
  expect_equal(out[0], vec({3, 0, 5}), 0, "selected");
  expect_equal(out[1], vec({0, 1, 2}), 0, "range");
  // Now every box scores the same: ties by index, one pick per cluster.
  out = ex.run({{"scores", f32({6}, {1, 1, 1, 1, 1, 1})}});
  expect_equal(out[0], vec({0, 3, 5}), 0, "selected");
  expect_equal(out[1], vec({0, 1, 2}), 0, "range");
  // A threshold above every box but two.
  out = ex.run({{"scores", f32({6}, {0, 0, 0, 0.5f, 0, 0.2f})}});
  expect_equal(out[0], vec({3, 5}), 0, "selected");
  expect_equal(out[1], vec({0, 1}), 0, "range");
}

} // namespace
} // namespace qtune
