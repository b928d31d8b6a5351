#pragma once
// Spatial attributes of TF's layout-sensitive ops (strides, dilations, ksize,
// padding in data_format order) -> ONNX NCHW attributes.
#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

inline bool is_nchw(const ConvertContext &c) {
  std::string f = c.attr_string("data_format", "NHWC");
  if (f != "NHWC" && f != "NCHW")
    c.unsupported("data_format '" + f + "' (only NHWC and NCHW)");
  return f == "NCHW";
}

// The H and W entries of a 4-element attribute in data_format order.
inline std::vector<int64_t> spatial(const ConvertContext &c, const std::vector<int64_t> &v,
                                    const char *what) {
  if (v.empty())
    return {1, 1};
  if (v.size() != 4)
    c.invalid(std::string(what) + " must have 4 entries");
  return is_nchw(c) ? std::vector<int64_t>{v[2], v[3]} : std::vector<int64_t>{v[1], v[2]};
}

// SAME -> auto_pad SAME_UPPER (TF puts the odd pixel at the end, as ONNX
// SAME_UPPER does); VALID -> zero pads; EXPLICIT -> explicit_paddings.
inline void set_padding(const ConvertContext &c, Node &n) {
  std::string p = c.attr_string("padding", "VALID");
  if (p == "SAME") {
    n.attrs["auto_pad"] = std::string("SAME_UPPER");
  } else if (p == "VALID") {
    n.attrs["pads"] = std::vector<int64_t>{0, 0, 0, 0};
  } else if (p == "EXPLICIT") {
    std::vector<int64_t> e = c.attr_ints("explicit_paddings");
    if (e.size() != 8)
      c.invalid("explicit_paddings must have 8 entries");
    size_t h = is_nchw(c) ? 2 : 1, w = h + 1;
    n.attrs["pads"] = std::vector<int64_t>{e[2 * h], e[2 * w], e[2 * h + 1], e[2 * w + 1]};
  } else {
    c.unsupported("padding '" + p + "'");
  }
}

} // namespace qtune::tf
