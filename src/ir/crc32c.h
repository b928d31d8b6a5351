#pragma once
// CRC-32C (Castagnoli), the checksum TFRecord framing, TensorFlow checkpoints and
// LevelDB tables use, and TensorFlow's
// "masked" form of it (so a CRC of data that itself holds CRCs stays well mixed).
#include <cstddef>
#include <cstdint>

namespace qtune {

uint32_t crc32c(const void *data, size_t size);
// The CRC of (bytes already summed into `crc`) followed by `data`.
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t size);

inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

inline uint32_t crc32c_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

inline uint32_t masked_crc32c(const void *data, size_t size) {
  return crc32c_mask(crc32c(data, size));
}

} // namespace qtune
