#pragma once
// Node attribute (string "source: text") saying why a quantizable node is not
// int8 (quant/precision_map.h): set by the quantizer, kept by the ONNX exporter
// as metadata_props "qtune.precision_reasons" (a JSON object by node name) and
// put back on the nodes by the importer. Internal, like kPrecisionAttr.
namespace qtune {

inline constexpr const char *kPrecisionReasonAttr = "qtune.precision_reason";
// The ONNX model metadata_props key holding them.
inline constexpr const char *kPrecisionReasonsKey = "qtune.precision_reasons";

} // namespace qtune
