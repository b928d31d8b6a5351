#include "data/tfrecord.h"

#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "ir/crc32c.h"
#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::data {

namespace {

uint64_t load_u64le(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

uint32_t load_u32le(const unsigned char *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void store_u64le(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<unsigned char>(v >> (8 * i));
}

void store_u32le(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<unsigned char>(v >> (8 * i));
}

} // namespace

TFRecordReader::TFRecordReader(const std::string &path) : path_(path) {
  require_regular_file(path, "TFRecord file");
  in_.open(path, std::ios::binary);
  if (!in_)
    throw InputError(path + ": cannot open TFRecord file");
  in_.seekg(0, std::ios::end);
  file_size_ = static_cast<uint64_t>(in_.tellg());
  in_.seekg(0);
}

std::string TFRecordReader::where() const {
  return path_ + ": record " + std::to_string(index_) + " (byte offset " + std::to_string(offset_) +
         ")";
}

bool TFRecordReader::read_record(std::string &out, bool check_data) {
  if (offset_ == file_size_)
    return false;
  unsigned char header[12];
  if (file_size_ - offset_ < sizeof header)
    throw InputError(where() + ": truncated file: " + std::to_string(file_size_ - offset_) +
                     " bytes left, record header needs 12");
  in_.seekg(static_cast<std::streamoff>(offset_));
  in_.read(reinterpret_cast<char *>(header), sizeof header);
  if (!in_)
    throw InputError(where() + ": read error in record header");
  uint64_t length = load_u64le(header);
  if (masked_crc32c(header, 8) != load_u32le(header + 8))
    throw InputError(where() + ": bad length CRC (corrupt record header)");
  uint64_t left = file_size_ - offset_ - sizeof header;
  if (left < 4 || length > left - 4)
    throw InputError(where() + ": truncated file: record of " + std::to_string(length) +
                     " bytes but only " + std::to_string(left) + " bytes left");
  if (check_data) {
    out.resize(length);
    in_.read(out.data(), static_cast<std::streamsize>(length));
    unsigned char crc[4];
    in_.read(reinterpret_cast<char *>(crc), 4);
    if (!in_)
      throw InputError(where() + ": read error in record data");
    if (masked_crc32c(out.data(), out.size()) != load_u32le(crc))
      throw InputError(where() + ": bad data CRC (corrupt record data)");
  }
  offset_ += sizeof header + length + 4;
  ++index_;
  return true;
}

bool TFRecordReader::next(std::string &out) {
  return read_record(out, true);
}

void TFRecordReader::read_at(uint64_t offset, int64_t record_index, std::string &out) {
  offset_ = offset;
  index_ = record_index;
  if (!read_record(out, true))
    throw InputError(where() + ": no record at end of file");
}

std::vector<uint64_t> TFRecordReader::index() {
  std::vector<uint64_t> offsets;
  offset_ = 0;
  index_ = 0;
  std::string unused;
  for (;;) {
    uint64_t at = offset_;
    if (!read_record(unused, false))
      break;
    offsets.push_back(at);
  }
  offset_ = 0;
  index_ = 0;
  return offsets;
}

std::vector<std::string> read_tfrecord_file(const std::string &path) {
  TFRecordReader reader(path);
  std::vector<std::string> records;
  std::string r;
  while (reader.next(r))
    records.push_back(std::move(r));
  return records;
}

TFRecordWriter::TFRecordWriter(const std::string &path)
    : path_(path), tmp_path_(path + ".tmp." + std::to_string(::getpid())) {
  out_.open(tmp_path_, std::ios::binary | std::ios::trunc);
  if (!out_)
    throw InputError(path + ": cannot create TFRecord file (" + tmp_path_ + ")");
}

TFRecordWriter::~TFRecordWriter() {
  if (!closed_) {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(tmp_path_, ec);
  }
}

void TFRecordWriter::write(std::string_view record) {
  unsigned char header[12], footer[4];
  store_u64le(header, record.size());
  store_u32le(header + 8, masked_crc32c(header, 8));
  store_u32le(footer, masked_crc32c(record.data(), record.size()));
  out_.write(reinterpret_cast<const char *>(header), sizeof header);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.write(reinterpret_cast<const char *>(footer), sizeof footer);
  if (!out_)
    throw Error(path_ + ": write error at record " + std::to_string(count_));
  ++count_;
}

void TFRecordWriter::close() {
  out_.close();
  if (!out_)
    throw Error(path_ + ": write error while closing");
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec)
    throw Error(path_ + ": cannot rename " + tmp_path_ + ": " + ec.message());
  closed_ = true;
}

} // namespace qtune::data
