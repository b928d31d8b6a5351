#pragma once
// File and protobuf helpers the TensorFlow readers share (internal).
#include <cstdint>
#include <google/protobuf/message.h>
#include <string>
#include <vector>

#include "proto/tf_graph.pb.h"

namespace qtune::tf {

// The whole file; InputError naming it when it cannot be read.
std::string read_file_bytes(const std::string &path);

// Parses a binary proto of any size (the default 64 MB limit lifted). On failure
// throws InputError "<path>: not a valid <what>" with the byte offset of the
// first top-level field that does not parse (or of the nested message).
void parse_binary_proto(const std::string &bytes, google::protobuf::Message &msg,
                        const std::string &path, const std::string &what);

// Text-format proto (unknown fields and extensions skipped); InputError with
// line:column on failure.
void parse_text_proto(const std::string &text, google::protobuf::Message &msg,
                      const std::string &path, const std::string &what);

// Elements of `shape`; InputError naming `where` when a dimension is negative or
// the product overflows (damaged files must fail before anything is allocated).
int64_t checked_numel(const std::vector<int64_t> &shape, const std::string &where);

// "name:0" -> "name"; "name:1" stays.
std::string strip_output_zero(const std::string &tensor_name);

// Throws InputError when the graph has no nodes (an empty file parses as one).
void require_nodes(const tensorflow::GraphDef &g, const std::string &path);

} // namespace qtune::tf
