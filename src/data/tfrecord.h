#pragma once
// TFRecord files: a sequence of records, each framed as
//   uint64 length (little-endian), uint32 masked CRC32C of the length bytes,
//   data[length], uint32 masked CRC32C of the data.
// The reader checks both CRCs; errors name the file, the record index and the
// problem. The writer writes to a temporary file and renames it on close().
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace qtune::data {

class TFRecordReader {
public:
  explicit TFRecordReader(const std::string &path);
  // Reads the next record into `out`; false at a clean end of file.
  bool next(std::string &out);
  // Reads the record starting at byte `offset` (as returned by index()).
  void read_at(uint64_t offset, int64_t record_index, std::string &out);
  // Byte offset of every record, validating framing and length CRCs only.
  std::vector<uint64_t> index();
  int64_t records_read() const { return index_; }
  const std::string &path() const { return path_; }

private:
  bool read_record(std::string &out, bool check_data);
  std::string where() const;

  std::string path_;
  std::ifstream in_;
  uint64_t file_size_ = 0;
  uint64_t offset_ = 0;
  int64_t index_ = 0; // index of the record about to be read
};

class TFRecordWriter {
public:
  explicit TFRecordWriter(const std::string &path);
  ~TFRecordWriter(); // without close(): the temporary file is removed
  TFRecordWriter(const TFRecordWriter &) = delete;
  TFRecordWriter &operator=(const TFRecordWriter &) = delete;

  void write(std::string_view record);
  void close(); // flushes and renames the temporary file onto the target
  int64_t records_written() const { return count_; }

private:
  std::string path_, tmp_path_;
  std::ofstream out_;
  int64_t count_ = 0;
  bool closed_ = false;
};

// Every record of a file, in order.
std::vector<std::string> read_tfrecord_file(const std::string &path);

} // namespace qtune::data
