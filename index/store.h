// IndexStore: where built indexes live (store.cc; the cache file:
// store_file.cc; shared memory: store_shm.cc, the only user of
// Boost.Interprocess; their one error convention: store_internal.h).
//  - shared memory: one POSIX shared memory object per binary identity,
//    shm_name(uid, key), mode 0600, published complete (a ready flag is set
//    last) and mapped read-only by every reader;
//  - cache file: $XDG_CACHE_HOME/dlvidx/<key>.idx (else ~/.cache/dlvidx),
//    written to a temp file (0600, O_EXCL|O_NOFOLLOW, random name) and renamed
//    into place, so a reader never sees half a file and two builders leave
//    one valid file. The directory is created 0700 and must be ours and not
//    writable by other users; files in it are reached through one directory
//    descriptor, opened with O_NOFOLLOW|O_NONBLOCK (a symlink or FIFO planted
//    there is never followed or waited on).
// Anything found that is not ours (other owner, group/other access, not a
// regular file), not complete, corrupt (the checksum covers the header and
// every table, and is verified on every open, shared memory included), of
// another format version or for another binary is refused and reported.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "index/identity.h"
#include "index/lookup.h"

namespace dlvidx::index {

struct IndexMapping;  // what keeps an image mapped (store_internal.h)

// The longest shared memory name every system takes: macOS allows 31 bytes
// (PSHMNAMLEN) with the leading '/' that shm_open is given.
inline constexpr size_t kShmNameMax = 30;
// The shared memory object of user `uid`'s index `key`: "dlvidx-<uid>-<key>",
// both in base 36 (at most 7 + 7 + 1 + 13 = 28 bytes, within kShmNameMax for
// every uid, also the 10-digit uids of directory-managed Macs). One to one:
// no two users' or keys' names collide. Whose an object is, is still checked
// on every open (the name is no proof).
std::string shm_name(uid_t uid, uint64_t key);

enum class IndexSource { kSharedMemory, kCacheFile, kBuilt };
std::string_view to_string(IndexSource s);

// A mapped, validated index. Keeps its mapping alive.
class IndexHandle {
 public:
  IndexHandle(IndexHandle&&) noexcept;
  IndexHandle& operator=(IndexHandle&&) noexcept;
  ~IndexHandle();
  const IndexView& view() const { return view_; }
  IndexSource source() const { return source_; }
  const std::string& location() const { return location_; }  // shm name or file path

 private:
  friend class IndexStore;
  IndexHandle(std::unique_ptr<IndexMapping> m, IndexView v, IndexSource s, std::string loc);
  std::unique_ptr<IndexMapping> mapping_;
  IndexView view_;
  IndexSource source_;
  std::string location_;
};

class IndexStore {
 public:
  // cache_dir empty: default_cache_dir() (cache_dir.h).
  explicit IndexStore(std::string cache_dir = {});

  const std::string& cache_dir() const { return cache_dir_; }
  std::string shm_name(uint64_t key) const;
  std::string cache_path(uint64_t key) const;

  // The published index for this identity: shared memory first, else the
  // cache file (which is then published to shared memory). Problems found
  // (stale, corrupt, foreign) are appended to `notes` and the bad copy removed.
  std::optional<IndexHandle> open(const BinaryIdentity& id,
                                  std::vector<std::string>* notes = nullptr);

  // Writes the cache file and publishes the image to shared memory. Neither is
  // fatal: what could not be done is appended to `notes`, and without shared
  // memory the handle maps a private copy.
  IndexHandle publish(const std::vector<uint8_t>& image, const BinaryIdentity& id,
                      std::vector<std::string>* notes = nullptr);

  // Removes the shared memory object and the cache file for `key`.
  void remove(uint64_t key);

  // Which index a binary path had last (cache_dir/paths/): lets `dlvidx
  // doctor` tell a stale index (the binary changed since) from a missing one.
  void remember_path(const std::string& binary, uint64_t key);
  std::optional<uint64_t> last_key_for(const std::string& binary) const;

 private:
  // store_shm.cc
  std::optional<IndexHandle> open_shm(const BinaryIdentity& id, std::vector<std::string>* notes);
  IndexHandle write_shm(Bytes image, const BinaryIdentity& id);
  // store_file.cc
  std::optional<IndexHandle> open_file(const BinaryIdentity& id, std::vector<std::string>* notes);
  bool has_file(uint64_t key) const;  // a regular file (not checked further)
  void write_file(Bytes image, uint64_t key);
  std::string cache_dir_;
};

// True when the header's identity fields match the binary.
bool identity_matches(const IndexHeader& h, const BinaryIdentity& id);

}  // namespace dlvidx::index
