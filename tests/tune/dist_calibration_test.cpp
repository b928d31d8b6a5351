// tune/dist_calibration.h in one process must collect exactly what
// quant::Calibrator collects (its range replay, histogram growth and
// channel-sum replay are the parts the mpirun tests exercise across ranks);
// dist::shard covers every sample once on whole batches.
#include <gtest/gtest.h>

#include "../test_util.h"
#include "dist/comm.h"
#include "quant/calibrate.h"
#include "tune/config.h"
#include "tune/dist_calibration.h"
#include "tune/evaluator.h"
#include "tune/model_backend.h"

using namespace qtune;

TEST(DistCalibration, OneRankEqualsTheCalibratorByteForByte) {
  const tune::Config c =
      tune::load_config(test::source_dir("examples/fashion_mnist/fashion_mnist.yaml"));
  auto fp32 = tune::load_model_file(test::source_dir(c.model.path));
  tune::BatchSource source(c.quantization.calibration.dataloader, "calibration", "image");
  quant::Calibrator cal(fp32, {.threads = 1});
  source.for_each(256, [&](const tune::Inputs &in, const auto &) { cal.add(in); });
  int batches = 0;
  quant::CalibrationStats sharded =
      tune::calibrate_sharded(fp32, {.threads = 1}, source, 256, [&] { ++batches; });
  EXPECT_EQ(batches, 8);
  EXPECT_EQ(sharded.to_json().dump(), cal.stats().to_json().dump());
}

TEST(DistCalibration, ShardsCoverEverySampleOnceOnWholeBatches) {
  for (int size : {1, 2, 3, 7})
    for (size_t items : {0, 1, 5, 100, 101}) {
      size_t next = 0;
      for (int r = 0; r < size; ++r) {
        dist::Range s = dist::shard(items, 32, r, size);
        EXPECT_EQ(s.begin, next) << items << " items, rank " << r << " of " << size;
        EXPECT_TRUE(s.begin % 32 == 0 || s.begin == items);
        EXPECT_LE(s.begin, s.end);
        next = s.end;
      }
      EXPECT_EQ(next, items);
    }
}
