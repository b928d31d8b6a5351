#include "frontends/tensorflow/tf_io.h"

#include <climits>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/wire_format_lite.h>
#include <map>
#include <memory>
#include <sstream>

#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::tf {

namespace pb = google::protobuf;

std::string read_file_bytes(const std::string &path) {
  std::ifstream in = open_input_file(path);
  if (!in)
    throw InputError(fmt::format("{}: cannot open file", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    throw InputError(fmt::format("{}: read error", path));
  return std::move(ss).str();
}

namespace {

bool parse_bytes(const char *data, size_t size, pb::Message &msg) {
  if (size > static_cast<size_t>(INT_MAX))
    return false;
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t *>(data), static_cast<int>(size));
  in.SetTotalBytesLimit(INT_MAX);
  in.SetRecursionLimit(1000);
  return msg.ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

// Where a message that failed to parse breaks: walks its top-level fields and
// re-parses each embedded message on its own, naming the first bad one
// ("node #12 at byte offset 3456"). Empty when every field parses.
std::string locate_parse_error(const std::string &bytes, const pb::Message &prototype) {
  using WFL = pb::internal::WireFormatLite;
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t *>(bytes.data()),
                              static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);
  const pb::Descriptor *desc = prototype.GetDescriptor();
  std::map<int, int> seen; // field number -> occurrences so far
  while (true) {
    int64_t at = in.CurrentPosition();
    uint32_t tag = in.ReadTag();
    if (tag == 0)
      return at == static_cast<int64_t>(bytes.size()) ? "" : fmt::format("byte offset {}", at);
    int number = static_cast<int>(WFL::GetTagFieldNumber(tag));
    const pb::FieldDescriptor *f = desc->FindFieldByNumber(number);
    int index = seen[number]++;
    std::string label = !f                 ? fmt::format("field {}", number)
                        : f->is_repeated() ? fmt::format("{} #{}", f->name(), index)
                                           : fmt::format("field '{}'", f->name());
    bool message = f && f->type() == pb::FieldDescriptor::TYPE_MESSAGE &&
                   WFL::GetTagWireType(tag) == WFL::WIRETYPE_LENGTH_DELIMITED;
    if (!message) {
      if (!WFL::SkipField(&in, tag))
        return fmt::format("{} at byte offset {}", label, at);
      continue;
    }
    uint32_t len = 0;
    if (!in.ReadVarint32(&len) || len > bytes.size() - static_cast<size_t>(in.CurrentPosition()))
      return fmt::format("{} at byte offset {} runs past the end of the file", label, at);
    std::unique_ptr<pb::Message> sub(
        pb::MessageFactory::generated_factory()->GetPrototype(f->message_type())->New());
    if (!parse_bytes(bytes.data() + in.CurrentPosition(), len, *sub))
      return fmt::format("{} at byte offset {}", label, at);
    in.Skip(static_cast<int>(len));
  }
}

class CollectErrors : public pb::io::ErrorCollector {
public:
  std::string first;
  void AddError(int line, pb::io::ColumnNumber column, const std::string &message) override {
    if (first.empty())
      first = fmt::format("line {}:{}: {}", line + 1, column + 1, message);
  }
};

} // namespace

void parse_binary_proto(const std::string &bytes, pb::Message &msg, const std::string &path,
                        const std::string &what) {
  if (parse_bytes(bytes.data(), bytes.size(), msg))
    return;
  std::string place;
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    place = "file larger than 2 GB";
  else if (std::string where = locate_parse_error(bytes, msg); !where.empty())
    place = "malformed " + where;
  else
    place = "protobuf parse failed";
  throw InputError(fmt::format("{}: not a valid {} ({})", path, what, place));
}

void parse_text_proto(const std::string &text, pb::Message &msg, const std::string &path,
                      const std::string &what) {
  pb::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  parser.AllowUnknownField(true);
  parser.AllowUnknownExtension(true);
  // Without a limit a file of 20000 nested `{` overflows the stack.
  parser.SetRecursionLimit(1000);
  if (!parser.ParseFromString(text, &msg))
    throw InputError(fmt::format("{}: not a valid text-format {} ({})", path, what,
                                 errors.first.empty() ? "parse failed" : errors.first));
}

int64_t checked_numel(const std::vector<int64_t> &shape, const std::string &where) {
  constexpr int64_t kMax = int64_t(1) << 56; // any real tensor is far smaller
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw InputError(fmt::format("{}: negative dimension {}", where, d));
    if (d > 0 && n > kMax / d)
      throw InputError(
          fmt::format("{}: shape [{}] has too many elements", where, fmt::join(shape, ",")));
    n *= d;
  }
  return n;
}

std::string strip_output_zero(const std::string &tensor_name) {
  if (tensor_name.size() > 2 && tensor_name.compare(tensor_name.size() - 2, 2, ":0") == 0)
    return tensor_name.substr(0, tensor_name.size() - 2);
  return tensor_name;
}

void require_nodes(const tensorflow::GraphDef &g, const std::string &path) {
  if (g.node_size() == 0)
    throw InputError(fmt::format("{}: the TensorFlow graph has no nodes", path));
}

} // namespace qtune::tf
