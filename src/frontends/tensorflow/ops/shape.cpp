// Shape and data-movement ops -> ONNX when their parameters are constants (or
// the ONNX op takes them as inputs with the same meaning), else tf: nodes.
// Shapes are int64 in ONNX: int32 parameters are cast (at import when constant).
#include <fmt/format.h>

#include "frontends/onnx/onnx_import.h"
#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

namespace {

std::string onnx_cast(ConvertContext &c, const std::string &x, DType to, const std::string &out) {
  c.add("Cast", {x}, {out}).attrs["to"] = (int64_t)dtype_to_onnx(to);
  return out;
}

// TF's 0 in a shape is a zero-sized dim: allowzero keeps it so.
void reshape(ConvertContext &c) {
  c.add("Reshape", {c.input(0), as_i64(c, 1)}, {c.output(0)}).attrs["allowzero"] = int64_t{1};
}

void expand_dims(ConvertContext &c) {
  const Tensor *axis = c.constant(1);
  if (!axis)
    return c.emit_generic(1);
  c.add("Unsqueeze", {c.input(0), c.add_const("axes", axis->cast(DType::i64).reshaped({1}))},
        {c.output(0)});
}

void squeeze(ConvertContext &c) {
  std::vector<int64_t> axes = c.attr_ints(c.has_attr("squeeze_dims") ? "squeeze_dims" : "axis");
  std::vector<std::string> ins{c.input(0)};
  if (!axes.empty())
    ins.push_back(c.add_const("axes", i64_tensor(axes)));
  c.add("Squeeze", ins, {c.output(0)});
}

void transpose(ConvertContext &c) {
  const Tensor *perm = c.constant(1);
  if (!perm)
    return c.emit_generic(1);
  c.add("Transpose", {c.input(0)}, {c.output(0)}).attrs["perm"] = perm->to_i64_vector();
}

// ConcatV2: values..., axis (last). Concat (v1): axis (first), values...
void concat(ConvertContext &c, bool axis_last) {
  size_t n = c.num_inputs();
  size_t ai = axis_last ? n - 1 : 0;
  const Tensor *axis = c.constant(ai);
  if (!axis)
    return c.emit_generic(1);
  std::vector<std::string> ins;
  for (size_t i = 0; i < n; ++i)
    if (i != ai)
      ins.push_back(c.input(i));
  c.add("Concat", ins, {c.output(0)}).attrs["axis"] = axis->get_i64(0);
}

// Pack = Unsqueeze each value at `axis`, then Concat (negative axes count from
// the output's rank in both ONNX ops, as in TF).
void pack(ConvertContext &c) {
  int64_t axis = c.attr_int("axis", 0);
  Tensor axes = i64_tensor({axis});
  std::string axes_name = c.add_const("axes", axes);
  if (c.num_inputs() == 1) {
    c.add("Unsqueeze", {c.input(0), axes_name}, {c.output(0)});
    return;
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < c.num_inputs(); ++i)
    parts.push_back(c.add1("Unsqueeze", {c.input(i), axes_name}));
  c.add("Concat", parts, {c.output(0)}).attrs["axis"] = axis;
}

void unpack(ConvertContext &c) {
  int64_t num = c.attr_int("num", 0), axis = c.attr_int("axis", 0);
  if (num <= 0)
    c.invalid("num must be positive");
  std::string axes = c.add_const("axes", i64_tensor({axis}));
  if (num == 1) {
    c.add("Squeeze", {c.input(0), axes}, {c.output(0)});
    return;
  }
  std::vector<std::string> parts;
  for (int64_t k = 0; k < num; ++k)
    parts.push_back(c.fresh("part"));
  c.add("Split", {c.input(0)}, parts).attrs["axis"] = axis;
  for (int64_t k = 0; k < num; ++k)
    c.add("Squeeze", {parts[k], axes}, {c.output(k)});
}

// Split(axis, value) into num_split equal parts; SplitV(value, sizes, axis).
void split(ConvertContext &c, bool v) {
  const Tensor *axis = c.constant(v ? 2 : 0);
  int64_t num = c.attr_int("num_split", 1);
  std::vector<std::string> ins{c.input(v ? 0 : 1)};
  if (v) {
    const Tensor *sizes = c.constant(1);
    if (!sizes || !axis)
      return c.emit_generic(num);
    std::vector<int64_t> s = sizes->to_i64_vector();
    if (std::find(s.begin(), s.end(), -1) != s.end())
      return c.emit_generic(num); // the -1 part: size known only at run time
    ins.push_back(c.add_const("split", i64_tensor(s)));
  } else if (!axis) {
    return c.emit_generic(num);
  }
  std::vector<std::string> outs;
  for (int64_t k = 0; k < num; ++k)
    outs.push_back(c.output(k));
  if (num == 1) {
    c.add("Identity", {ins[0]}, outs);
    return;
  }
  c.add("Split", ins, outs).attrs["axis"] = axis->get_i64(0);
}

void tile(ConvertContext &c) {
  c.add("Tile", {c.input(0), as_i64(c, 1)}, {c.output(0)});
}

// Fill(dims, value) with a constant value -> ConstantOfShape.
void fill(ConvertContext &c) {
  const Tensor *value = c.constant(1);
  if (!value || value->numel() != 1)
    return c.emit_generic(1);
  c.add("ConstantOfShape", {as_i64(c, 0)}, {c.output(0)}).attrs["value"] = value->reshaped({1});
}

// Shape / Size write int64 in ONNX; TF's out_type defaults to int32.
void shape_like(ConvertContext &c, const std::string &op) {
  DType out = c.attr_type("out_type", DType::i32);
  if (out == DType::i64) {
    c.add(op, {c.input(0)}, {c.output(0)});
    return;
  }
  onnx_cast(c, c.add1(op, {c.input(0)}), out, c.output(0));
}

void rank(ConvertContext &c) {
  onnx_cast(c, c.add1("Size", {c.add1("Shape", {c.input(0)})}), DType::i32, c.output(0));
}

// TF Range's element count, ceil(|limit - start| / |delta|), equals ONNX's
// max(ceil((limit - start) / delta), 0) on every input TF accepts.
void range(ConvertContext &c) {
  c.add("Range", {c.input(0), c.input(1), c.input(2)}, {c.output(0)});
}

void gather(ConvertContext &c, bool v2) {
  int64_t axis = 0;
  if (v2) {
    const Tensor *a = c.constant(2);
    if (!a || c.attr_int("batch_dims", 0) != 0)
      return c.emit_generic(1);
    axis = a->get_i64(0);
  }
  c.add("Gather", {c.input(0), c.input(1)}, {c.output(0)}).attrs["axis"] = axis;
}

// paddings [rank, 2] -> ONNX pads [begins..., ends...].
void pad(ConvertContext &c) {
  const Tensor *p = c.constant(1);
  std::string mode = "constant";
  if (c.op() == "MirrorPad") {
    std::string m = c.attr_string("mode", "REFLECT");
    if (m != "REFLECT")
      return c.emit_generic(1); // SYMMETRIC repeats the edge: no ONNX mode
    mode = "reflect";
  }
  if (!p || p->rank() != 2 || p->dim(1) != 2)
    return c.emit_generic(1);
  std::vector<int64_t> v = p->to_i64_vector(), pads(v.size());
  int64_t r = p->dim(0);
  for (int64_t i = 0; i < r; ++i) {
    pads[i] = v[2 * i];
    pads[r + i] = v[2 * i + 1];
  }
  std::vector<std::string> ins{c.input(0), c.add_const("pads", i64_tensor(pads))};
  if (c.op() == "PadV2")
    ins.push_back(c.input(2));
  c.add("Pad", ins, {c.output(0)}).attrs["mode"] = mode;
}

// Where(cond) = the true coordinates, [n, rank] int64 = NonZero transposed.
void where(ConvertContext &c) {
  if (c.num_inputs() == 3)
    return c.emit_generic(1); // v1 Select semantics
  c.add("Transpose", {c.add1("NonZero", {c.input(0)})}, {c.output(0)}).attrs["perm"] =
      std::vector<int64_t>{1, 0};
}

// ONNX TopK breaks ties by the lower index, as TF does; indices int64 -> int32.
void top_k(ConvertContext &c) {
  std::string k = c.add1("Reshape", {as_i64(c, 1), c.add_const("shape", i64_tensor({1}))});
  std::string idx = c.fresh("indices");
  Node &n = c.add("TopK", {c.input(0), k}, {c.output(0), idx});
  n.attrs["axis"] = int64_t{-1};
  n.attrs["sorted"] = int64_t{1};
  n.attrs["largest"] = int64_t{1};
  onnx_cast(c, idx, DType::i32, c.output(1));
}

// NHWC image, size [h, w] -> Resize on NCHW with sizes = [N, C, h, w]. TF 1.x
// coordinates: align_corners -> align_corners; half_pixel_centers ->
// half_pixel (bilinear) / tf_half_pixel_for_nn (nearest, floor); neither ->
// asymmetric (nearest: floor). Output float, as TF computes.
void resize(ConvertContext &c, bool bilinear) {
  bool align = c.attr_bool("align_corners", false), half = c.attr_bool("half_pixel_centers", false);
  if (align && half)
    c.invalid("align_corners and half_pixel_centers are both set");
  DType t = c.attr_type("T", DType::f32);
  std::string x = c.input(0);
  if (bilinear && t != DType::f32)
    x = c.add1("Cast", {x}, {{"to", (int64_t)dtype_to_onnx(DType::f32)}});
  x = to_nchw(c, x);
  std::string nc = c.add1("Slice", {c.add1("Shape", {x}), c.add_const("starts", i64_tensor({0})),
                                    c.add_const("ends", i64_tensor({2}))});
  std::string sizes = c.add1("Concat", {nc, as_i64(c, 1)}, {{"axis", int64_t{0}}});
  std::string y = c.fresh("Resize");
  Node &n = c.add("Resize", {x, "", "", sizes}, {y});
  c.take_name(n);
  n.attrs["mode"] = std::string(bilinear ? "linear" : "nearest");
  std::string coord = align  ? "align_corners"
                      : half ? (bilinear ? "half_pixel" : "tf_half_pixel_for_nn")
                             : "asymmetric";
  n.attrs["coordinate_transformation_mode"] = coord;
  if (!bilinear)
    n.attrs["nearest_mode"] = std::string(align ? "round_prefer_ceil" : "floor");
  from_nchw(c, y);
}

} // namespace

void register_tf_shape_converters(ConverterTable &t) {
  t.add("Reshape", reshape);
  t.add("ExpandDims", expand_dims);
  t.add("Squeeze", squeeze);
  t.add("Transpose", transpose);
  t.add("ConcatV2", [](ConvertContext &c) { concat(c, true); });
  t.add("Concat", [](ConvertContext &c) { concat(c, false); });
  t.add("Pack", pack);
  t.add("Unpack", unpack);
  t.add("Split", [](ConvertContext &c) { split(c, false); });
  t.add("SplitV", [](ConvertContext &c) { split(c, true); });
  t.add("Tile", tile);
  t.add("Fill", fill);
  t.add("Shape", [](ConvertContext &c) { shape_like(c, "Shape"); });
  t.add("Size", [](ConvertContext &c) { shape_like(c, "Size"); });
  t.add("Rank", rank);
  t.add("Range", range);
  t.add("GatherV2", [](ConvertContext &c) { gather(c, true); });
  t.add("Gather", [](ConvertContext &c) { gather(c, false); });
  t.add("Pad", pad);
  t.add("PadV2", pad);
  t.add("MirrorPad", pad);
  t.add("Where", where);
  t.add("TopKV2", top_k);
  t.add("ResizeBilinear", [](ConvertContext &c) { resize(c, true); });
  t.add("ResizeNearestNeighbor", [](ConvertContext &c) { resize(c, false); });
}

} // namespace qtune::tf
