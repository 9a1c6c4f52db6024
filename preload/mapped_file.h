// MappedFile: a whole file mapped read-only (RAII). Every byte view handed to
// the object and DWARF readers points into this mapping: no copies of
// uncompressed sections.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace dlvidx {

using Bytes = std::span<const uint8_t>;

class MappedFile {
 public:
  // Throws dlvidx::Error naming the path on any failure.
  static std::unique_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  Bytes bytes() const { return {data_, size_}; }
  uint64_t size() const { return size_; }
  int64_t mtime_ns() const { return mtime_ns_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  int64_t mtime_ns_ = 0;
};

}  // namespace dlvidx
