#include "checkpoint_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "frontends/tensorflow/tf_bundle.h"
#include "frontends/tensorflow/tf_source.h"
#include "frontends/tensorflow/tf_table.h"
#include "ir/crc32c.h"

namespace qtune::test {

namespace fs = std::filesystem;
using tf::put_fixed32;
using tf::put_fixed64;
using tf::put_varint64;

namespace {

constexpr size_t kBlockSize = 4096;  // LevelDB's default target block size
constexpr int kRestartInterval = 16; // keys between full (unshared) keys

// One table block being filled: prefix-compressed entries + restart offsets.
class BlockBuilder {
public:
  explicit BlockBuilder(int restart_interval) : interval_(restart_interval) {}

  void add(const std::string &key, const std::string &value) {
    size_t shared = 0;
    if (count_ % interval_ == 0) {
      restarts_.push_back(static_cast<uint32_t>(buf_.size()));
    } else {
      size_t n = std::min(key.size(), last_.size());
      while (shared < n && key[shared] == last_[shared])
        ++shared;
    }
    put_varint64(buf_, shared);
    put_varint64(buf_, key.size() - shared);
    put_varint64(buf_, value.size());
    buf_.append(key, shared, std::string::npos);
    buf_ += value;
    last_ = key;
    ++count_;
  }

  bool empty() const { return count_ == 0; }
  size_t size() const { return buf_.size() + 4 * restarts_.size() + 4; }
  const std::string &last_key() const { return last_; }

  std::string finish() {
    if (restarts_.empty())
      restarts_.push_back(0);
    std::string out = buf_;
    for (uint32_t r : restarts_)
      put_fixed32(out, r);
    put_fixed32(out, static_cast<uint32_t>(restarts_.size()));
    *this = BlockBuilder(interval_);
    return out;
  }

private:
  int interval_;
  int count_ = 0;
  std::string buf_, last_;
  std::vector<uint32_t> restarts_;
};

// Appends a block and its trailer (type 0 = uncompressed, masked CRC32C of block
// + type); returns the block's handle (offset, size) encoded as two varints.
std::string append_block(std::string &file, const std::string &block) {
  std::string handle;
  put_varint64(handle, file.size());
  put_varint64(handle, block.size());
  file += block;
  file.push_back('\0');
  put_fixed32(file,
              crc32c_mask(crc32c(file.data() + file.size() - block.size() - 1, block.size() + 1)));
  return handle;
}

// A sorted key/value table in the LevelDB format TensorFlow's .index uses.
std::string build_table(const std::vector<std::pair<std::string, std::string>> &sorted) {
  std::string file;
  BlockBuilder data(kRestartInterval), index(1);
  auto flush = [&] {
    std::string key = data.last_key();
    index.add(key, append_block(file, data.finish()));
  };
  for (const auto &[k, v] : sorted) {
    data.add(k, v);
    if (data.size() >= kBlockSize)
      flush();
  }
  if (!data.empty())
    flush();
  std::string meta_handle = append_block(file, BlockBuilder(1).finish());
  std::string index_handle = append_block(file, index.finish());
  std::string footer = meta_handle + index_handle;
  footer.resize(40, '\0');
  put_fixed64(footer, tf::kTableMagic);
  return file + footer;
}

// String tensors on disk: varint64 lengths, masked CRC32C of the lengths (each
// as a little-endian uint32), the string bytes. Returns the bytes; `crc` gets the
// CRC the entry records (over lengths as summed, the 4 checksum bytes, strings).
std::string encode_strings(const Tensor &t, uint32_t &crc) {
  std::string out;
  crc = 0;
  for (const auto &s : t.strings) {
    put_varint64(out, s.size());
    std::string le;
    put_fixed32(le, static_cast<uint32_t>(s.size()));
    crc = crc32c_extend(crc, le.data(), le.size());
  }
  std::string sum;
  put_fixed32(sum, crc32c_mask(crc));
  out += sum;
  crc = crc32c_extend(crc, sum.data(), sum.size());
  for (const auto &s : t.strings) {
    out += s;
    crc = crc32c_extend(crc, s.data(), s.size());
  }
  return out;
}

// splitmix64: a small, well-mixed deterministic generator.
struct Rng {
  uint64_t state;
  double spare = 0;
  bool has_spare = false;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; } // [0, 1)
  double normal() { // Box-Muller: two normals per pair of uniforms
    if (has_spare) {
      has_spare = false;
      return spare;
    }
    double r = std::sqrt(-2.0 * std::log(1.0 - uniform())), a = 6.283185307179586 * uniform();
    spare = r * std::sin(a);
    has_spare = true;
    return r * std::cos(a);
  }
};

uint64_t name_hash(const std::string &name, uint32_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed; // FNV-1a
  for (unsigned char c : name)
    h = (h ^ c) * 0x100000001b3ull;
  return h;
}

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// He-normal scale: sqrt(2 / fan_in); depthwise filters [h, w, c, m] read h*w inputs.
double weight_std(const std::string &name, const Shape &shape) {
  double fan_in = 1;
  if (name.find("depthwise") != std::string::npos && shape.size() == 4)
    fan_in = double(shape[0] * shape[1]);
  else
    for (size_t i = 0; i + 1 < shape.size(); ++i)
      fan_in *= double(shape[i]);
  return std::sqrt(2.0 / std::max(1.0, fan_in));
}

} // namespace

void write_bundle(const std::string &prefix,
                  const std::vector<std::pair<std::string, Tensor>> &tensors) {
  std::vector<const std::pair<std::string, Tensor> *> order;
  for (const auto &t : tensors)
    order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto *a, auto *b) { return a->first < b->first; });

  std::ofstream data(tf::bundle_data_path(prefix, 0, 1), std::ios::binary);
  std::vector<std::pair<std::string, std::string>> table;
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(1);
  header.set_endianness(tensorflow::BundleHeaderProto::LITTLE);
  header.mutable_version()->set_producer(1);
  table.emplace_back("", header.SerializeAsString());
  uint64_t offset = 0;
  for (const auto *t : order) {
    const Tensor &v = t->second;
    tensorflow::BundleEntryProto e;
    e.set_dtype(static_cast<tensorflow::DataType>(tf::dtype_to_tf(v.dtype())));
    for (int64_t d : v.shape())
      e.mutable_shape()->add_dim()->set_size(d);
    std::string bytes;
    uint32_t crc = 0;
    if (v.dtype() == DType::string) {
      bytes = encode_strings(v, crc);
    } else {
      bytes.assign(static_cast<const char *>(v.raw()), v.nbytes());
      crc = crc32c(bytes.data(), bytes.size());
    }
    e.set_offset(static_cast<int64_t>(offset));
    e.set_size(static_cast<int64_t>(bytes.size()));
    e.set_crc32c(crc32c_mask(crc));
    data.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    offset += bytes.size();
    table.emplace_back(t->first, e.SerializeAsString());
  }
  if (!data)
    throw std::runtime_error("write_bundle: cannot write " + tf::bundle_data_path(prefix, 0, 1));
  write_table(prefix + ".index", table);
}

void write_table(const std::string &path,
                 const std::vector<std::pair<std::string, std::string>> &sorted) {
  std::string table = build_table(sorted);
  std::ofstream(path, std::ios::binary)
      .write(table.data(), static_cast<std::streamsize>(table.size()));
}

Tensor synthesize_variable(const std::string &name, DType dtype, const Shape &shape,
                           uint32_t seed) {
  Tensor t(dtype, shape); // integers and bools (global_step ...) stay zero
  if (dtype != DType::f32 && dtype != DType::f64)
    return t;
  Rng rng{name_hash(name, seed)};
  auto fill = [&](auto gen) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      double v = gen();
      if (dtype == DType::f32)
        t.data<float>()[i] = static_cast<float>(v);
      else
        t.data<double>()[i] = v;
    }
  };
  if (ends_with(name, "moving_variance"))
    fill([&] { return 0.5 + rng.uniform(); }); // positive, around 1
  else if (ends_with(name, "gamma"))
    fill([&] { return 1.0 + 0.1 * rng.normal(); });
  else if (ends_with(name, "beta") || ends_with(name, "moving_mean") || shape.size() <= 1)
    fill([&] { return 0.05 * rng.normal(); }); // biases and other vectors: small
  else
    fill([&, s = weight_std(name, shape)] { return s * rng.normal(); });
  return t;
}

std::string synthesize_checkpoint(const std::string &real_prefix, const std::string &out_dir,
                                  uint32_t seed) {
  tf::BundleIndex index = tf::read_bundle_index(real_prefix + ".index");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto &[name, entry] : index.entries) {
    Shape shape;
    for (const auto &d : entry.shape().dim())
      shape.push_back(d.size());
    tensors.emplace_back(name,
                         synthesize_variable(name, tf::dtype_from_tf(entry.dtype()), shape, seed));
  }
  fs::create_directories(out_dir);
  std::string prefix = (fs::path(out_dir) / "model.ckpt").string();
  write_bundle(prefix, tensors);
  fs::remove(prefix + ".meta");
  fs::create_symlink(fs::absolute(real_prefix + ".meta"), prefix + ".meta");
  return prefix;
}

} // namespace qtune::test
