// What the store's three files share (store.cc: the IndexStore calls;
// store_file.cc: the cache directory and its files; store_shm.cc: the shared
// memory objects). Not for use outside them.
//
// Errors, one convention in all three:
//  - a failure throws dlvidx::Error with the reason, prefixed by what it
//    concerns when the thrower knows it ("cache directory D: ...",
//    "D/F.tmp.N: write failed: ..."); a copy that is not ours throws
//    Untrusted (an Error), so that it is never removed as if it were;
//  - "not there" (no such file, directory or object) is std::nullopt, never
//    an error;
//  - what a failure means is decided once, where it is caught: open() notes
//    a refused copy and removes it (an untrusted shared memory object is only
//    ignored), publish() notes what could not be written and serves the index
//    anyway, and the path records (read only by `dlvidx doctor`) are
//    best-effort.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "index/store.h"
#include "preload/error.h"

namespace dlvidx::index {

// A file, directory or shared memory object that is not ours (another
// owner, group/other access, not a regular file): never trusted.
class Untrusted : public Error {
 public:
  using Error::Error;
};

// What keeps an IndexHandle's image mapped: shared memory (store_shm.cc) or
// an 8-byte aligned buffer (a cache file's contents, or a private copy).
struct IndexMapping {
  virtual ~IndexMapping() = default;
};
struct BufferMapping : IndexMapping {
  std::vector<uint64_t> words;
  uint64_t size = 0;  // bytes
  Bytes bytes() const { return Bytes(reinterpret_cast<const uint8_t*>(words.data()), size); }
};

// An owned file descriptor.
struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd();
  bool ok() const { return fd >= 0; }
};

// store_file.cc

// "uid 1000 (alice)", for messages about ownership.
std::string user_label(uid_t uid);
// Throws Untrusted unless fd is a regular file (kShm: a shared memory object,
// platform::is_shm_mode) owned by us with no group/other permissions.
enum class Kind { kFile, kShm };
void check_private(int fd, Kind kind = Kind::kFile);
// The cache file name of a key: "<key as 16 hex digits>.idx".
std::string key_file(uint64_t key);

// store_shm.cc

// Removes the shared memory object `name` (nothing if there is none).
void remove_shm(const std::string& name);

}  // namespace dlvidx::index
