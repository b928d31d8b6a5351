#pragma once
// LevelDB-format sorted string tables, the format of a TensorFlow checkpoint's
// `.index` file (internal). Layout, from the end of the file:
//   footer (48 bytes): metaindex BlockHandle, index BlockHandle (each two
//     varint64: offset, size), zero padding to 40 bytes, magic fixed64
//     0xdb4775248b80fb57;
//   the index block maps a separator key >= each data block's last key to that
//     block's handle;
//   every block: entries (varint32 shared key prefix, varint32 unshared length,
//     varint32 value length, key suffix, value), restart offsets (fixed32 each),
//     their count (fixed32); then a 5-byte trailer: compression type (0 none,
//     1 snappy) and the masked CRC32C of block bytes + type byte.
#include <cstdint>
#include <string>
#include <vector>

namespace qtune::tf {

constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
constexpr size_t kTableFooterSize = 48;
constexpr size_t kBlockTrailerSize = 5;

struct TableEntry {
  std::string key, value;
};

// Every key/value pair of the table in `path`, in key order. Checks each block's
// CRC; InputError naming the file and the block's byte offset on any damage.
std::vector<TableEntry> read_table(const std::string &path);

// Little-endian / varint helpers shared by the table reader and writer.
void put_varint64(std::string &out, uint64_t v);
void put_fixed32(std::string &out, uint32_t v);
void put_fixed64(std::string &out, uint64_t v);

} // namespace qtune::tf
