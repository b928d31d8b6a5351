#pragma once
// Bad-input corpus helpers: small ONNX models written with the protobuf API,
// byte files, and a runner that executes `qtune ...` under a timeout and
// classifies the outcome (clear error / crash / hang / other exit).
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <onnx/onnx_pb.h>
#include <string>
#include <sys/wait.h>
#include <vector>
#include <zlib.h>

#include "../test_util.h"

namespace qtune::test {

namespace fs = std::filesystem;

inline void write_file(const fs::path &p, const std::string &bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A one-graph ONNX model built node by node.
struct OnnxModel {
  onnx::ModelProto m;
  explicit OnnxModel(int opset = 13) {
    m.set_ir_version(8);
    auto *o = m.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m.mutable_graph()->set_name("g");
  }
  onnx::GraphProto &g() { return *m.mutable_graph(); }

  onnx::NodeProto &node(const std::string &op, const std::string &name,
                        std::initializer_list<std::string> in,
                        std::initializer_list<std::string> out) {
    auto *n = g().add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto &i : in)
      n->add_input(i);
    for (const auto &o : out)
      n->add_output(o);
    return *n;
  }
  static void ints(onnx::NodeProto &n, const std::string &name, std::vector<int64_t> v) {
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v)
      a->add_ints(x);
  }
  void value(onnx::ValueInfoProto *vi, const std::string &name, std::vector<int64_t> dims,
             int elem) {
    vi->set_name(name);
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto *sh = tt->mutable_shape();
    for (int64_t d : dims)
      sh->add_dim()->set_dim_value(d);
  }
  void input(const std::string &name, std::vector<int64_t> dims,
             int elem = onnx::TensorProto::FLOAT) {
    value(g().add_input(), name, std::move(dims), elem);
  }
  void output(const std::string &name, int elem = onnx::TensorProto::FLOAT) {
    auto *vi = g().add_output();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(elem);
  }
  onnx::TensorProto &init(const std::string &name, std::vector<int64_t> dims,
                          int elem = onnx::TensorProto::FLOAT) {
    auto *t = g().add_initializer();
    t->set_name(name);
    t->set_data_type(elem);
    for (int64_t d : dims)
      t->add_dims(d);
    return *t;
  }
  onnx::TensorProto &init_i64(const std::string &name, std::vector<int64_t> values) {
    auto &t = init(name, {static_cast<int64_t>(values.size())}, onnx::TensorProto::INT64);
    for (int64_t v : values)
      t.add_int64_data(v);
    return t;
  }
  onnx::TensorProto &init_f32(const std::string &name, std::vector<int64_t> dims, float fill) {
    auto &t = init(name, dims);
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    for (int64_t i = 0; i < n; ++i)
      t.add_float_data(fill);
    return t;
  }
  void save(const fs::path &p) const { write_file(p, m.SerializeAsString()); }
};

// A PNG of `w` x `h` RGB pixels (all `fill`), built chunk by chunk; `declare_w`
// / `declare_h` (when > 0) go into the IHDR instead, for lying headers.
inline std::string make_png(uint32_t w, uint32_t h, uint8_t fill, uint32_t declare_w = 0,
                            uint32_t declare_h = 0) {
  auto be32 = [](uint32_t v) {
    return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  };
  auto chunk = [&](const std::string &type, const std::string &data) {
    std::string body = type + data;
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef *>(body.data()), body.size());
    return be32(static_cast<uint32_t>(data.size())) + body + be32(crc);
  };
  std::string raw;
  for (uint32_t y = 0; y < h; ++y)
    raw += '\0' + std::string(size_t(w) * 3, char(fill)); // filter byte 0, then the row
  uLongf zlen = compressBound(raw.size());
  std::string z(zlen, '\0');
  compress(reinterpret_cast<Bytef *>(z.data()), &zlen, reinterpret_cast<const Bytef *>(raw.data()),
           raw.size());
  z.resize(zlen);
  std::string ihdr = be32(declare_w ? declare_w : w) + be32(declare_h ? declare_h : h) +
                     std::string{8, 2, 0, 0, 0}; // 8-bit RGB
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) +
         chunk("IEND", "");
}

// `jpeg` with the frame header's height and width replaced.
inline std::string jpeg_with_size(std::string jpeg, uint16_t w, uint16_t h) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i)
    if (uint8_t(jpeg[i]) == 0xff && uint8_t(jpeg[i + 1]) >= 0xc0 && uint8_t(jpeg[i + 1]) <= 0xc2) {
      jpeg[i + 5] = char(h >> 8), jpeg[i + 6] = char(h);
      jpeg[i + 7] = char(w >> 8), jpeg[i + 8] = char(w);
      return jpeg;
    }
  ADD_FAILURE() << "no SOF marker";
  return jpeg;
}

// One corpus case (tests/robustness/test_bad_input*.cpp).
struct Case {
  std::string name;
  const char *kind; // what the input used to cause: crash, hang, escape, silent, memory, unclear
  // Writes the files into `dir`, returns the qtune arguments.
  std::function<std::string(const fs::path &dir)> setup;
  std::vector<std::string> expect; // fragments of the error message
};

inline void PrintTo(const Case &c, std::ostream *os) {
  *os << c.name;
}

// The cases per file format (models, records, annotations, configs, images,
// IDX): test_bad_input_formats.cpp.
std::vector<Case> format_cases();

enum class Outcome { clear_error, other_exit, crash, hang };

inline const char *outcome_name(Outcome o) {
  switch (o) {
  case Outcome::clear_error:
    return "exit 1";
  case Outcome::other_exit:
    return "other exit code";
  case Outcome::crash:
    return "crash (signal)";
  case Outcome::hang:
    return "hang (timeout)";
  }
  return "?";
}

struct RunResult {
  Outcome outcome;
  int code; // exit code, or the signal number
  std::string err;
};

// Under the sanitizer CI step (allocator_may_return_null=1) ASan prints
// "==PID==WARNING: AddressSanitizer failed to allocate 0x... bytes" before
// qtune reports the failed allocation itself; that line is ASan's, not qtune's
// message, so it is dropped before the one-line check. Any other ASan output
// (an ERROR report) stays and fails the case.
inline std::string without_asan_allocation_warnings(const std::string &err) {
  std::string out;
  size_t pos = 0;
  while (pos < err.size()) {
    size_t end = err.find('\n', pos);
    end = end == std::string::npos ? err.size() : end + 1;
    const std::string line = err.substr(pos, end - pos);
    if (!(line.rfind("==", 0) == 0 &&
          line.find("==WARNING: AddressSanitizer failed to allocate") != std::string::npos))
      out += line;
    pos = end;
  }
  return out;
}

// Runs `qtune <args>` in `dir` under a timeout; stdout is discarded.
inline RunResult run_qtune(const fs::path &dir, const std::string &args, int timeout_s = 20) {
  fs::path errfile = dir / "stderr.txt";
  // QTUNE_BAD_INPUT_BINARY runs the corpus against another build (to count
  // what an older qtune did with each case).
  const char *other = std::getenv("QTUNE_BAD_INPUT_BINARY");
  std::string binary = other && *other ? other : qtune_binary();
  std::string cmd = "cd '" + dir.string() + "' && exec timeout -s KILL " +
                    std::to_string(timeout_s) + " " + binary + " " + args +
                    " </dev/null >/dev/null 2>'" + errfile.string() + "'";
  int status = std::system(cmd.c_str());
  RunResult r{Outcome::other_exit, -1, without_asan_allocation_warnings(read_file(errfile))};
  // timeout(1) kills its own process group with the SIGKILL it sends.
  if (!WIFEXITED(status))
    return {WTERMSIG(status) == SIGKILL ? Outcome::hang : Outcome::crash, WTERMSIG(status), r.err};
  int code = WEXITSTATUS(status);
  // timeout(1) reports the child's signal as 128+n; SIGKILL from the timeout is 137.
  if (code == 137)
    return {Outcome::hang, code, r.err};
  if (code > 128)
    return {Outcome::crash, code - 128, r.err};
  r.code = code;
  r.outcome = code == 1 ? Outcome::clear_error : Outcome::other_exit;
  return r;
}

} // namespace qtune::test
