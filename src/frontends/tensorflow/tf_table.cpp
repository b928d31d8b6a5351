#include "frontends/tensorflow/tf_table.h"

#include <cstring>
#include <fmt/format.h>
#include <snappy.h>

#include "frontends/tensorflow/tf_io.h"
#include "ir/crc32c.h"
#include "qtune/error.h"

namespace qtune::tf {

void put_varint64(std::string &out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_fixed32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_fixed64(std::string &out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

namespace {

uint32_t load_fixed32(const char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t load_fixed64(const char *p) {
  return uint64_t(load_fixed32(p)) | uint64_t(load_fixed32(p + 4)) << 32;
}

// A bounded cursor over bytes; every read reports failure instead of overrunning.
struct Cursor {
  const char *p, *end;
  bool varint(uint64_t &v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
      auto b = static_cast<uint8_t>(*p++);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80))
        return true;
    }
    return false;
  }
};

struct BlockHandle {
  uint64_t offset = 0, size = 0;
};

class TableReader {
public:
  explicit TableReader(const std::string &path) : path_(path), file_(read_file_bytes(path)) {}

  std::vector<TableEntry> entries() {
    BlockHandle index = footer_index_handle();
    std::vector<TableEntry> all;
    for (const TableEntry &ie :
         block_entries(read_block(index, "index block"), index, "index block")) {
      Cursor c{ie.value.data(), ie.value.data() + ie.value.size()};
      BlockHandle h;
      if (!c.varint(h.offset) || !c.varint(h.size))
        fail(index.offset, "index block", "malformed block handle");
      for (TableEntry &e : block_entries(read_block(h, "data block"), h, "data block"))
        all.push_back(std::move(e));
    }
    return all;
  }

private:
  [[noreturn]] void fail(uint64_t offset, const char *what, const std::string &problem) const {
    throw InputError(fmt::format("{}: {} at byte offset {}: {}", path_, what, offset, problem));
  }

  BlockHandle footer_index_handle() const {
    if (file_.size() < kTableFooterSize)
      throw InputError(fmt::format("{}: {} bytes is too short for a checkpoint index table", path_,
                                   file_.size()));
    const char *footer = file_.data() + file_.size() - kTableFooterSize;
    uint64_t footer_at = file_.size() - kTableFooterSize;
    if (load_fixed64(footer + 40) != kTableMagic)
      fail(footer_at + 40, "footer", "bad magic number (not a LevelDB/TensorFlow index table)");
    Cursor c{footer, footer + 40};
    BlockHandle meta, index;
    if (!c.varint(meta.offset) || !c.varint(meta.size) || !c.varint(index.offset) ||
        !c.varint(index.size))
      fail(footer_at, "footer", "malformed block handles");
    return index;
  }

  // The block's contents after checking its trailer's CRC and decompressing.
  std::string read_block(const BlockHandle &h, const char *what) const {
    if (h.offset > file_.size() || h.size > file_.size() - h.offset ||
        file_.size() - h.offset - h.size < kBlockTrailerSize)
      fail(h.offset, what,
           fmt::format("block of {} bytes runs past the end of the file ({} bytes)", h.size,
                       file_.size()));
    const char *data = file_.data() + h.offset;
    const char type = data[h.size];
    uint32_t stored = crc32c_unmask(load_fixed32(data + h.size + 1));
    if (crc32c(data, h.size + 1) != stored)
      fail(h.offset, what, "CRC mismatch (the file is damaged)");
    if (type == 0)
      return std::string(data, h.size);
    if (type != 1)
      fail(h.offset, what, fmt::format("unknown compression type {}", int(type)));
    std::string out;
    if (!snappy::Uncompress(data, h.size, &out))
      fail(h.offset, what, "snappy data does not decompress");
    return out;
  }

  std::vector<TableEntry> block_entries(const std::string &block, const BlockHandle &h,
                                        const char *what) const {
    if (block.size() < 4)
      fail(h.offset, what, "too short for its restart count");
    uint64_t restarts = load_fixed32(block.data() + block.size() - 4);
    if (restarts > (block.size() - 4) / 4)
      fail(h.offset, what, fmt::format("restart count {} does not fit", restarts));
    const char *end = block.data() + block.size() - 4 - 4 * restarts;
    Cursor c{block.data(), end};
    std::vector<TableEntry> out;
    std::string key;
    while (c.p < end) {
      uint64_t at = static_cast<uint64_t>(c.p - block.data());
      uint64_t shared = 0, unshared = 0, value_len = 0;
      if (!c.varint(shared) || !c.varint(unshared) || !c.varint(value_len) || shared > key.size() ||
          unshared > uint64_t(end - c.p) || value_len > uint64_t(end - c.p) - unshared)
        fail(h.offset, what, fmt::format("malformed entry at block offset {}", at));
      key.resize(shared);
      key.append(c.p, unshared);
      c.p += unshared;
      out.push_back({key, std::string(c.p, value_len)});
      c.p += value_len;
    }
    return out;
  }

  std::string path_;
  std::string file_;
};

} // namespace

std::vector<TableEntry> read_table(const std::string &path) {
  return TableReader(path).entries();
}

} // namespace qtune::tf
