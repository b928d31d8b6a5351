#include "frontends/tensorflow/tf_bundle.h"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>

#include "frontends/tensorflow/tf_io.h"
#include "frontends/tensorflow/tf_source.h"
#include "frontends/tensorflow/tf_table.h"
#include "ir/crc32c.h"
#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::tf {

BundleIndex read_bundle_index(const std::string &index_path) {
  BundleIndex index;
  index.path = index_path;
  std::vector<TableEntry> table = read_table(index_path);
  if (table.empty() || !table[0].key.empty())
    throw InputError(fmt::format("{}: checkpoint index has no header entry", index_path));
  if (!index.header.ParseFromString(table[0].value))
    throw InputError(fmt::format("{}: checkpoint index header does not parse", index_path));
  if (index.header.endianness() != tensorflow::BundleHeaderProto::LITTLE)
    throw UnsupportedError(fmt::format("{}: big-endian checkpoint", index_path));
  if (index.header.num_shards() < 1)
    throw InputError(fmt::format("{}: checkpoint header says {} data shards", index_path,
                                 index.header.num_shards()));
  for (size_t i = 1; i < table.size(); ++i) {
    tensorflow::BundleEntryProto entry;
    if (!entry.ParseFromString(table[i].value))
      throw InputError(
          fmt::format("{}: entry of tensor '{}' does not parse", index_path, table[i].key));
    index.entries.emplace_back(std::move(table[i].key), std::move(entry));
  }
  return index;
}

std::string bundle_data_path(const std::string &prefix, int shard, int num_shards) {
  return fmt::format("{}.data-{:05d}-of-{:05d}", prefix, shard, num_shards);
}

namespace {

// The data shards, opened when first needed.
class ShardFiles {
public:
  ShardFiles(std::string prefix, const BundleIndex &index)
      : prefix_(std::move(prefix)), index_(index) {}

  // `size` bytes at `offset` of shard `shard`, for tensor `name`.
  std::string read(int shard, uint64_t offset, uint64_t size, const std::string &name) {
    Shard &s = open(shard, name);
    if (offset > s.size || size > s.size - offset)
      throw InputError(fmt::format(
          "{}: truncated data shard: tensor '{}' needs bytes [{}, {}) but the file has {} bytes",
          s.path, name, offset, offset + size, s.size));
    std::string bytes(size, '\0');
    s.in.seekg(static_cast<std::streamoff>(offset));
    s.in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (!s.in)
      throw InputError(
          fmt::format("{}: read error at byte offset {} (tensor '{}')", s.path, offset, name));
    return bytes;
  }

private:
  struct Shard {
    std::string path;
    std::ifstream in;
    uint64_t size = 0;
  };

  Shard &open(int shard, const std::string &name) {
    int n = index_.header.num_shards();
    if (shard < 0 || shard >= n)
      throw InputError(fmt::format("{}: tensor '{}' is in shard {} of a {}-shard checkpoint",
                                   index_.path, name, shard, n));
    auto it = shards_.find(shard);
    if (it != shards_.end())
      return it->second;
    Shard &s = shards_[shard];
    s.path = bundle_data_path(prefix_, shard, n);
    std::error_code ec;
    s.size = std::filesystem::file_size(s.path, ec);
    require_regular_file(s.path, "checkpoint data shard");
    s.in.open(s.path, std::ios::binary);
    if (ec || !s.in)
      throw InputError(fmt::format("{}: missing data shard (tensor '{}' of {} is stored there)",
                                   s.path, name, index_.path));
    return s;
  }

  std::string prefix_;
  const BundleIndex &index_;
  std::map<int, Shard> shards_;
};

[[noreturn]] void crc_mismatch(const std::string &shard_path, const std::string &name,
                               uint64_t offset) {
  throw InputError(fmt::format("{}: CRC mismatch in tensor '{}' at byte offset {} (the data "
                               "shard is damaged or does not belong to this index)",
                               shard_path, name, offset));
}

// String tensors: varint64 lengths, the masked CRC32C of the lengths (each
// summed as a little-endian uint32, or uint64 when it does not fit), then the
// bytes of every string. The entry's CRC covers lengths (as summed), the length
// checksum's 4 bytes and the string bytes.
void decode_strings(Tensor &t, const std::string &bytes, uint32_t expected_crc,
                    const std::string &where, const std::string &name, uint64_t offset) {
  size_t pos = 0;
  uint32_t crc = 0;
  std::vector<uint64_t> lengths(static_cast<size_t>(t.numel()));
  for (uint64_t &len : lengths) {
    len = 0;
    int shift = 0;
    while (true) {
      if (pos >= bytes.size() || shift > 63)
        throw InputError(fmt::format("{}: string tensor '{}' at byte offset {}: lengths run past "
                                     "its {} bytes",
                                     where, name, offset, bytes.size()));
      auto b = static_cast<uint8_t>(bytes[pos++]);
      len |= uint64_t(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80))
        break;
    }
    std::string le;
    if (len <= UINT32_MAX)
      put_fixed32(le, static_cast<uint32_t>(len));
    else
      put_fixed64(le, len);
    crc = crc32c_extend(crc, le.data(), le.size());
  }
  if (bytes.size() - pos < 4)
    throw InputError(
        fmt::format("{}: string tensor '{}' at byte offset {} is truncated", where, name, offset));
  crc = crc32c_extend(crc, bytes.data() + pos, 4);
  pos += 4;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] > bytes.size() - pos)
      throw InputError(fmt::format("{}: string tensor '{}' at byte offset {} is truncated", where,
                                   name, offset));
    t.strings[i] = bytes.substr(pos, lengths[i]);
    crc = crc32c_extend(crc, bytes.data() + pos, lengths[i]);
    pos += lengths[i];
  }
  if (crc != expected_crc)
    crc_mismatch(where, name, offset);
}

Tensor read_tensor(const std::string &name, const tensorflow::BundleEntryProto &e,
                   const BundleIndex &index, ShardFiles &shards, const std::string &prefix) {
  if (e.slices_size() > 0)
    throw UnsupportedError(fmt::format("{}: variable '{}' is partitioned into {} slices; "
                                       "partitioned checkpoint variables are not supported",
                                       index.path, name, e.slices_size()));
  DType dtype;
  try {
    dtype = dtype_from_tf(e.dtype());
  } catch (const UnsupportedError &err) {
    throw UnsupportedError(fmt::format("{}: tensor '{}': {}", index.path, name, err.what()));
  }
  Shape shape;
  for (const auto &d : e.shape().dim())
    shape.push_back(d.size());
  std::string where = fmt::format("{}: tensor '{}'", index.path, name);
  const uint64_t numel = static_cast<uint64_t>(checked_numel(shape, where));
  const auto size = static_cast<uint64_t>(e.size());
  // Checked against the entry's byte count (and that against the shard's size)
  // before anything is allocated: a damaged index must not ask for terabytes.
  if (dtype != DType::string && size != numel * dtype_size(dtype))
    throw InputError(fmt::format("{} records {} bytes, its shape {} of {} needs {}", where,
                                 e.size(), shape_str(shape), dtype_name(dtype),
                                 numel * dtype_size(dtype)));
  if (dtype == DType::string && numel + 4 > size) // a length byte per string + checksum
    throw InputError(fmt::format("{}: {} bytes cannot hold {} strings", where, e.size(), numel));
  std::string bytes = shards.read(e.shard_id(), static_cast<uint64_t>(e.offset()), size, name);
  Tensor t(dtype, shape);
  std::string shard_path = bundle_data_path(prefix, e.shard_id(), index.header.num_shards());
  uint32_t expected = crc32c_unmask(e.crc32c());
  if (dtype == DType::string) {
    decode_strings(t, bytes, expected, shard_path, name, static_cast<uint64_t>(e.offset()));
    return t;
  }
  if (crc32c(bytes.data(), bytes.size()) != expected)
    crc_mismatch(shard_path, name, static_cast<uint64_t>(e.offset()));
  std::memcpy(t.raw(), bytes.data(), bytes.size());
  return t;
}

} // namespace

std::unordered_map<std::string, Tensor> read_bundle(const std::string &prefix) {
  BundleIndex index = read_bundle_index(prefix + ".index");
  ShardFiles shards(prefix, index);
  std::unordered_map<std::string, Tensor> out;
  for (const auto &[name, entry] : index.entries)
    out.emplace(name, read_tensor(name, entry, index, shards, prefix));
  return out;
}

} // namespace qtune::tf
