#pragma once
// Flat little-endian-as-the-host byte strings for the collectives (dist/comm.h):
// every rank runs the same binary, so values are copied as they lie in memory.
// The reader checks every length and throws qtune::Error naming `what` when a
// message is short or malformed.
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "qtune/error.h"

namespace qtune::dist {

class ByteWriter {
public:
  template <class T> void put(const T &v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char *>(&v), sizeof(T));
  }
  template <class T> void put_vector(const std::vector<T> &v) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<uint64_t>(v.size());
    out_.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
  }
  void put_string(const std::string &s) {
    put<uint64_t>(s.size());
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

class ByteReader {
public:
  ByteReader(const std::string &data, std::string what) : data_(data), what_(std::move(what)) {}
  template <class T> T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  template <class T> std::vector<T> get_vector() {
    const uint64_t n = get<uint64_t>();
    if (n > (data_.size() - pos_) / sizeof(T))
      fail();
    std::vector<T> v(n);
    std::memcpy(v.data(), take(n * sizeof(T)), n * sizeof(T));
    return v;
  }
  std::string get_string() {
    const uint64_t n = get<uint64_t>();
    if (n > data_.size() - pos_)
      fail();
    return std::string(take(n), n);
  }
  bool done() const { return pos_ == data_.size(); }

private:
  const char *take(size_t n) {
    if (n > data_.size() - pos_)
      fail();
    const char *p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] void fail() const {
    throw Error(what_ + ": truncated message from another rank (" + std::to_string(data_.size()) +
                " bytes)");
  }
  const std::string &data_;
  std::string what_;
  size_t pos_ = 0;
};

} // namespace qtune::dist
