// TFRecord framing and tf.train.Example parsing. The CRC check values come from
// the CRC-32C specification (RFC 3720 B.4), not from our own output.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "data/od_example.h"
#include "data/tfrecord.h"
#include "data_test_util.h"
#include "ir/crc32c.h"
#include "proto/example.pb.h"
#include "qtune/error.h"

using namespace qtune;
using namespace qtune::data;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string &name) {
  return (fs::temp_directory_path() / ("qtune_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void write_records(const std::string &path, const std::vector<std::string> &records) {
  TFRecordWriter w(path);
  for (const auto &r : records)
    w.write(r);
  w.close();
}

std::string file_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void put_bytes(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

} // namespace

TEST(Crc32c, MatchesRfc3720Vectors) {
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, 0);
  for (int i = 0; i < 32; ++i)
    inc[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62a8ab43u);
  EXPECT_EQ(crc32c(inc.data(), 32), 0x46dd794eu);
  EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u);
}

TEST(TFRecord, RoundTrip) {
  std::string path = temp_path("rt.record");
  std::vector<std::string> recs = {"", "hello", std::string(100000, 'x'), std::string("\0\1\2", 3)};
  write_records(path, recs);
  EXPECT_EQ(read_tfrecord_file(path), recs);
  TFRecordReader r(path);
  auto offsets = r.index();
  ASSERT_EQ(offsets.size(), 4u);
  std::string out;
  r.read_at(offsets[2], 2, out);
  EXPECT_EQ(out, recs[2]);
  // Framing byte layout: 8 length + 4 + data + 4.
  EXPECT_EQ(fs::file_size(path), 4 * 16 + 0 + 5 + 100000 + 3u);
  fs::remove(path);
}

TEST(TFRecord, BadDataCrcNamesRecord) {
  std::string path = temp_path("badcrc.record");
  write_records(path, {"first", "second", "third"});
  std::string b = file_bytes(path);
  b[(16 + 5) + (12 + 2)] ^= 0x40; // flip a bit inside record 1's data
  put_bytes(path, b);
  std::string msg = qtune::test::input_error_of([&] { read_tfrecord_file(path); });
  EXPECT_NE(msg.find("record 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad data CRC"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  fs::remove(path);
}

TEST(TFRecord, BadLengthCrcNamesRecord) {
  std::string path = temp_path("badlen.record");
  write_records(path, {"first", "second", "third"});
  std::string b = file_bytes(path);
  b[(16 + 5) + (16 + 6) + 9] ^= 0x01; // record 2's length CRC
  put_bytes(path, b);
  std::string msg = qtune::test::input_error_of([&] { read_tfrecord_file(path); });
  EXPECT_NE(msg.find("record 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad length CRC"), std::string::npos) << msg;
  fs::remove(path);
}

TEST(TFRecord, TruncatedFileNamesRecord) {
  std::string path = temp_path("trunc.record");
  write_records(path, {"first", "second", "third"});
  std::string b = file_bytes(path);
  for (size_t cut : {b.size() - 3, b.size() - 12, b.size() - 20}) {
    put_bytes(path, b.substr(0, cut));
    std::string msg = qtune::test::input_error_of([&] { read_tfrecord_file(path); });
    EXPECT_NE(msg.find("record 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
  fs::remove(path);
}

TEST(TFRecord, WriterLeavesNoFileWithoutClose) {
  std::string path = temp_path("noclose.record");
  {
    TFRecordWriter w(path);
    w.write("x");
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(OdExample, RoundTripThroughProto) {
  Sample s;
  s.encoded = "\xff\xd8\xff fake";
  s.format = "jpeg";
  s.width = 640;
  s.height = 480;
  s.truth.image_id = 139;
  s.truth.boxes = {{10, 20, 100, 50}, {0, 0, 640, 480}};
  s.truth.category_ids = {1, 90};
  s.truth.is_crowd = {0, 1};
  s.truth.area = {4000.5f, 100.f};
  s.truth.class_text = {"person", "toothbrush"};
  std::string bytes = make_od_example(s, "000000000139.jpg");
  // Independent check of the wire layout: parse with the generated proto API.
  tensorflow::Example ex;
  ASSERT_TRUE(ex.ParseFromString(bytes));
  const auto &m = ex.features().feature();
  EXPECT_EQ(m.at("image/source_id").bytes_list().value(0), "139");
  EXPECT_FLOAT_EQ(m.at("image/object/bbox/xmax").float_list().value(0), 110.f / 640);
  EXPECT_FLOAT_EQ(m.at("image/object/bbox/ymin").float_list().value(0), 20.f / 480);

  Sample p = parse_od_example(bytes, "r");
  EXPECT_EQ(p.encoded, s.encoded);
  EXPECT_EQ(p.width, 640);
  EXPECT_EQ(p.truth.image_id, 139);
  ASSERT_EQ(p.truth.boxes.size(), 2u);
  EXPECT_NEAR(p.truth.boxes[0].x, 10, 1e-4);
  EXPECT_NEAR(p.truth.boxes[0].h, 50, 1e-4);
  EXPECT_EQ(p.truth.category_ids[1], 90);
  EXPECT_EQ(p.truth.is_crowd[1], 1);
  EXPECT_FLOAT_EQ(p.truth.area[0], 4000.5f);
  EXPECT_EQ(p.truth.class_text[1], "toothbrush");
}

TEST(OdExample, MissingFeatureNamesRecordAndFeature) {
  Sample s;
  s.encoded = "x";
  s.width = s.height = 10;
  s.truth.image_id = 1;
  tensorflow::Example ex;
  ex.ParseFromString(make_od_example(s, "a.jpg"));
  ex.mutable_features()->mutable_feature()->erase("image/object/class/label");
  std::string path = temp_path("missing.record");
  write_records(path, {make_od_example(s, "a.jpg"), ex.SerializeAsString()});
  TFRecordReader r(path);
  std::string rec;
  r.next(rec);
  parse_od_example(rec, "ok");
  std::string where = path + ": record " + std::to_string(r.records_read());
  r.next(rec);
  std::string msg = qtune::test::input_error_of([&] { parse_od_example(rec, where); });
  EXPECT_NE(msg.find("record 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("image/object/class/label"), std::string::npos) << msg;
  fs::remove(path);
}
