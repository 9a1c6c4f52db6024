// ByteReader: bounds-checked reads of fixed-size integers from a byte view.
// Every overrun throws dlvidx::Error naming the file and what was being read.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "preload/error.h"
#include "preload/mapped_file.h"

namespace dlvidx {

class ByteReader {
 public:
  ByteReader(Bytes b, const std::string& path, const char* what, bool big_endian = false)
      : b_(b), path_(path), what_(what), be_(big_endian) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return b_.size() - pos_; }
  void seek(uint64_t p) {
    if (p > b_.size()) overrun(p - b_.size());
    pos_ = p;
  }
  void skip(uint64_t n) { seek(need(n) + n); }
  uint8_t u8() { return uint8_t(get(1)); }
  uint16_t u16() { return uint16_t(get(2)); }
  uint32_t u32() { return uint32_t(get(4)); }
  uint64_t u64() { return get(8); }
  Bytes take(uint64_t n) {
    uint64_t p = need(n);
    pos_ += n;
    return b_.subspan(p, n);
  }

 private:
  uint64_t need(uint64_t n) {
    if (n > b_.size() - pos_) overrun(n);
    return pos_;
  }
  uint64_t get(int n) {
    uint64_t p = need(n), v = 0;
    for (int i = 0; i < n; i++) {
      uint64_t byte = b_[p + i];
      v |= be_ ? byte << (8 * (n - 1 - i)) : byte << (8 * i);
    }
    pos_ += n;
    return v;
  }
  [[noreturn]] void overrun(uint64_t n) {
    fail("{}: truncated {}: need {} bytes at offset {}, have {}", path_, what_, n, pos_,
         b_.size() - std::min<uint64_t>(pos_, b_.size()));
  }

  Bytes b_;
  const std::string& path_;
  const char* what_;
  bool be_;
  uint64_t pos_ = 0;
};

}  // namespace dlvidx
