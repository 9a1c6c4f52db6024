#include "index/store.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <thread>
#include <utility>

#include "index/index_builder.h"
#include "preload/error.h"

namespace bip = boost::interprocess;

namespace dlvidx::index {

std::string_view to_string(IndexSource s) {
  switch (s) {
    case IndexSource::kSharedMemory: return "shared memory";
    case IndexSource::kCacheFile: return "cache file";
    case IndexSource::kBuilt: return "built";
  }
  return "?";
}

struct IndexHandle::Mapping {
  std::optional<bip::mapped_region> region;  // shared memory
  std::vector<uint64_t> buffer;              // file contents, 8-byte aligned
};

IndexHandle::IndexHandle(std::unique_ptr<Mapping> m, IndexView v, IndexSource s, std::string loc)
    : mapping_(std::move(m)), view_(v), source_(s), location_(std::move(loc)) {}
IndexHandle::IndexHandle(IndexHandle&&) noexcept = default;
IndexHandle& IndexHandle::operator=(IndexHandle&&) noexcept = default;
IndexHandle::~IndexHandle() = default;

bool identity_matches(const IndexHeader& h, const BinaryIdentity& id) {
  auto eq = [](const char* field, size_t cap, const std::string& s) {
    return strnlen(field, cap) == std::min(s.size(), cap - 1) && std::memcmp(field, s.data(), std::min(s.size(), cap - 1)) == 0;
  };
  return h.identity == id.key && h.binary_size == id.size && h.dwarf_hash == id.dwarf_hash &&
         h.slice_offset == id.slice_offset && h.arch == static_cast<uint8_t>(id.arch) &&
         h.format == static_cast<uint8_t>(id.format) &&
         eq(h.go_build_id, sizeof h.go_build_id, id.go_build_id) &&
         eq(h.gnu_build_id, sizeof h.gnu_build_id, id.gnu_build_id) && eq(h.uuid, sizeof h.uuid, id.uuid);
}

namespace {

// A cache file larger than this is not an index of ours (cmd/compile's is 2.6 MB).
constexpr uint64_t kMaxIndexBytes = 1ull << 32;

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/') return std::string(x) + "/dlvidx";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/dlvidx";
  return fmt::format("/tmp/dlvidx-{}", geteuid());
}

std::string user_label(uid_t uid) {
  struct passwd pw {};
  struct passwd* res = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return fmt::format("uid {} ({})", uid, res->pw_name);
  return fmt::format("uid {}", uid);
}

// Ours and private: a regular file owned by us, no group/other permissions.
std::string check_private(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return fmt::format("cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return "not a regular file: not trusted";
  if (st.st_uid != geteuid())
    return fmt::format("owned by another user, {}, not by {}: not trusted", user_label(st.st_uid),
                       user_label(geteuid()));
  if (st.st_mode & 077)
    return fmt::format("mode {:o} is not private (other users have access): not trusted", st.st_mode & 0777);
  return {};
}

// A directory we may keep indexes in: ours, and no other user can add, remove
// or swap its entries.
std::string check_dir(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return fmt::format("cannot stat: {}", std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  if (st.st_uid != geteuid())
    return fmt::format("owned by another user, {}, not by {}", user_label(st.st_uid), user_label(geteuid()));
  if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != getegid()))
    return fmt::format("mode {:o}: other users can write to it", st.st_mode & 07777);
  return {};
}

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  bool ok() const { return fd >= 0; }
};

// Opens `dir` (creating it 0700, and its parents, when `create`), checked with
// check_dir. Everything in it is then reached relative to this descriptor, so
// the directory cannot be swapped in between. Fd(-1) and *why set on failure;
// *why empty: the directory does not exist (and !create).
Fd open_dir(const std::string& dir, bool create, std::string* why) {
  if (create) {
    std::error_code ec;
    std::filesystem::path p(dir);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      *why = fmt::format("cannot create: {}", std::strerror(errno));
      return Fd();
    }
  }
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.ok()) {
    if (errno != ENOENT || create) *why = fmt::format("cannot open: {}", std::strerror(errno));
    return Fd();
  }
  if (std::string bad = check_dir(d.fd); !bad.empty()) {
    *why = bad + "; not used";
    return Fd();
  }
  return d;
}

// A subdirectory of an opened directory, created 0700; never a symlink.
Fd open_subdir(int parent, const char* name, bool create, std::string* why) {
  if (create && ::mkdirat(parent, name, 0700) != 0 && errno != EEXIST) {
    *why = fmt::format("cannot create: {}", std::strerror(errno));
    return Fd();
  }
  Fd d(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d.ok()) {
    if (errno != ENOENT) *why = fmt::format("cannot open: {}", errno == ELOOP ? "a symbolic link" : std::strerror(errno));
    return Fd();
  }
  if (std::string bad = check_dir(d.fd); !bad.empty()) {
    *why = bad + "; not used";
    return Fd();
  }
  return d;
}

// Writes `data` to a new private temp file in `dir` and renames it to `name`:
// a reader sees the old file or the whole new one, and a symlink or any other
// file planted at `name` is replaced, never followed.
void write_atomically(int dir, const std::string& dir_path, const std::string& name, const void* data, uint64_t size,
                      bool sync) {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ (uint64_t(getpid()) << 32));
  std::string tmp;
  Fd fd;
  for (int attempt = 0; attempt < 16 && !fd.ok(); attempt++) {
    tmp = fmt::format("{}.tmp.{:016x}", name, rng());
    fd = Fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.ok() && errno != EEXIST) break;
  }
  if (!fd.ok()) fail("{}/{}: cannot create: {}", dir_path, tmp, std::strerror(errno));
  ::fchmod(fd.fd, 0600);
  const auto* p = static_cast<const uint8_t*>(data);
  for (uint64_t put = 0; put < size;) {
    ssize_t n = ::write(fd.fd, p + put, size - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      ::unlinkat(dir, tmp.c_str(), 0);
      fail("{}/{}: write failed: {}", dir_path, tmp, std::strerror(e));
    }
    put += static_cast<uint64_t>(n);
  }
  if (sync) ::fsync(fd.fd);
  fd = Fd();
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
    int e = errno;
    ::unlinkat(dir, tmp.c_str(), 0);
    fail("{}/{}: cannot rename into place: {}", dir_path, name, std::strerror(e));
  }
}

// Reads a whole regular file of ours, opened without following a symlink and
// without blocking (a FIFO planted there is refused, not waited on).
// nullopt: absent. Throws Error with the reason when it is there but refused.
std::optional<std::vector<uint64_t>> read_private(int dir, const std::string& name, uint64_t max, uint64_t* size) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) fail("a symbolic link: not followed");
    fail("cannot open: {}", std::strerror(errno));
  }
  if (std::string bad = check_private(fd.fd); !bad.empty()) fail("{}", bad);
  struct stat st {};
  if (fstat(fd.fd, &st) != 0) fail("cannot stat: {}", std::strerror(errno));
  uint64_t want = static_cast<uint64_t>(st.st_size);
  if (want > max) fail("{} bytes: too large", want);
  std::vector<uint64_t> buf((want + 7) / 8);
  auto* dst = reinterpret_cast<uint8_t*>(buf.data());
  uint64_t got = 0;
  while (got < want) {
    ssize_t n = ::read(fd.fd, dst + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<uint64_t>(n);
  }
  if (got != want) fail("short read ({} of {} bytes)", got, want);
  *size = want;
  return buf;
}

bool pid_alive(uint32_t pid) { return pid != 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

std::string key_file(uint64_t key) { return fmt::format("{:016x}.idx", key); }

}  // namespace

IndexStore::IndexStore(std::string cache_dir)
    : cache_dir_(cache_dir.empty() ? default_cache_dir() : std::move(cache_dir)) {
  while (cache_dir_.size() > 1 && cache_dir_.back() == '/') cache_dir_.pop_back();
}

std::string IndexStore::shm_name(uint64_t key) const {
  return fmt::format("dlvidx-{}-{:016x}", geteuid(), key);
}

std::string IndexStore::cache_path(uint64_t key) const {
  return fmt::format("{}/{}", cache_dir_, key_file(key));
}

std::optional<IndexHandle> IndexStore::open(const BinaryIdentity& id, std::vector<std::string>* notes) {
  if (auto h = open_shm(id, notes)) {
    // Published by a process with another cache directory, or the file was
    // removed: write it, so the index survives the shared memory (a reboot).
    std::string why;
    Fd dir = open_dir(cache_dir_, false, &why);
    struct stat st {};
    if (!dir.ok() || ::fstatat(dir.fd, key_file(id.key).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      Bytes img = h->view().bytes();
      std::vector<uint8_t> copy(img.begin(), img.end());
      auto* hdr = reinterpret_cast<IndexHeader*>(copy.data());
      hdr->ready = 0;
      hdr->creator_pid = 0;
      try {
        write_file(copy, id.key);
      } catch (const std::exception& e) {
        if (notes) notes->push_back(e.what());
      }
    }
    return h;
  }
  return open_file(id, notes);
}

std::optional<IndexHandle> IndexStore::open_shm(const BinaryIdentity& id, std::vector<std::string>* notes) {
  const std::string name = shm_name(id.key);
  auto note = [&](const std::string& why) {
    if (notes) notes->push_back(fmt::format("shared memory {}: {}", name, why));
  };
  // A publisher creates the object, sizes it, copies the image in and then
  // sets `ready`; wait briefly for one that is alive, remove what a dead one
  // left behind.
  for (int attempt = 0; attempt < 200; attempt++) {
    try {
      // shm_open adds O_NOFOLLOW: a symlink planted under our name is not followed.
      bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_only);
      if (std::string bad = check_private(shm.get_mapping_handle().handle); !bad.empty()) {
        note(bad + "; ignored");
        return std::nullopt;  // not ours: never trusted (publish replaces it if it can)
      }
      bip::offset_t size = 0;
      if (!shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(IndexHeader))) {
        if (attempt < 20) {  // maybe a publisher between creating and sizing it
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        note(fmt::format("{} bytes, too small for an index; removed", size));
        bip::shared_memory_object::remove(name.c_str());
        return std::nullopt;
      }
      auto m = std::make_unique<IndexHandle::Mapping>();
      m->region.emplace(shm, bip::read_only);
      const auto* hdr = static_cast<const IndexHeader*>(m->region->get_address());
      uint32_t ready = std::atomic_ref<const uint32_t>(hdr->ready).load(std::memory_order_acquire);
      if (!ready) {
        if (pid_alive(hdr->creator_pid) && attempt < 199) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        note("left incomplete by a dead publisher; removed");
        bip::shared_memory_object::remove(name.c_str());
        return std::nullopt;
      }
      if (ready != 1) fail("index is corrupt: ready flag {:#x}", ready);
      Bytes img(static_cast<const uint8_t*>(m->region->get_address()), m->region->get_size());
      img = img.first(std::min<uint64_t>(img.size(), hdr->total_size));
      IndexView v = IndexView::open(img, IndexView::Verify::kChecksum);
      if (!identity_matches(v.header(), id)) {
        note("belongs to another binary; removed");
        bip::shared_memory_object::remove(name.c_str());
        return std::nullopt;
      }
      return IndexHandle(std::move(m), v, IndexSource::kSharedMemory, name);
    } catch (const bip::interprocess_exception& e) {
      if (e.get_error_code() == bip::not_found_error) return std::nullopt;
      struct stat st {};
      if (e.get_native_error() == ELOOP) {
        note("a symbolic link: not followed; removed");
        bip::shared_memory_object::remove(name.c_str());
      } else if (e.get_native_error() == EACCES && ::lstat(("/dev/shm/" + name).c_str(), &st) == 0 &&
                 st.st_uid != geteuid()) {
        note(fmt::format("owned by another user, {}, not by {}: not trusted; ignored", user_label(st.st_uid),
                         user_label(geteuid())));
      } else {
        note(e.what());
      }
      return std::nullopt;
    } catch (const Error& e) {
      note(std::string(e.what()) + "; removed");
      bip::shared_memory_object::remove(name.c_str());
      return std::nullopt;
    } catch (const std::exception& e) {
      note(e.what());
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<IndexHandle> IndexStore::open_file(const BinaryIdentity& id, std::vector<std::string>* notes) {
  const std::string path = cache_path(id.key);
  const std::string file = key_file(id.key);
  auto note = [&](const std::string& why) {
    if (notes) notes->push_back(fmt::format("cache file {}: {}", path, why));
  };
  std::string why;
  Fd dir = open_dir(cache_dir_, false, &why);
  if (!dir.ok()) return std::nullopt;  // (a refused directory is reported when the index is written)
  try {
    uint64_t size = 0;
    auto buf = read_private(dir.fd, file, kMaxIndexBytes, &size);
    if (!buf) return std::nullopt;
    auto m = std::make_unique<IndexHandle::Mapping>();
    m->buffer = std::move(*buf);
    const auto* dst = reinterpret_cast<const uint8_t*>(m->buffer.data());
    IndexView v = IndexView::open(Bytes(dst, size), IndexView::Verify::kFull);
    // The shared memory fields are 0 in a file (and not covered by the checksum).
    if (v.header().ready != 0 || v.header().creator_pid != 0)
      fail("index is corrupt: shared memory fields set in a cache file");
    if (!identity_matches(v.header(), id)) fail("belongs to another binary");
    std::vector<uint8_t> image(dst, dst + size);
    try {
      return write_shm(image, id);
    } catch (const std::exception& e) {
      note(fmt::format("could not publish to shared memory ({}); using the file", e.what()));
      return IndexHandle(std::move(m), v, IndexSource::kCacheFile, path);
    }
  } catch (const std::exception& e) {
    note(std::string(e.what()) + "; removed");
    ::unlinkat(dir.fd, file.c_str(), 0);
    return std::nullopt;
  }
}

void IndexStore::write_file(const std::vector<uint8_t>& image, uint64_t key) {
  std::string why;
  Fd dir = open_dir(cache_dir_, true, &why);
  if (!dir.ok()) fail("cache directory {}: {}", cache_dir_, why);
  write_atomically(dir.fd, cache_dir_, key_file(key), image.data(), image.size(), /*sync=*/true);
}

IndexHandle IndexStore::write_shm(const std::vector<uint8_t>& image, const BinaryIdentity& id) {
  const std::string name = shm_name(id.key);
  bip::permissions perm;
  perm.set_permissions(0600);
  std::optional<bip::shared_memory_object> shm;
  for (int attempt = 0; !shm; attempt++) {
    try {
      shm.emplace(bip::create_only, name.c_str(), bip::read_write, perm);
    } catch (const bip::interprocess_exception& e) {
      if (e.get_error_code() != bip::already_exists_error || attempt == 3) throw;
      // Someone published (or is publishing) the same identity: use theirs.
      if (auto h = open_shm(id, nullptr)) return std::move(*h);
      bip::shared_memory_object::remove(name.c_str());
    }
  }
  try {
    int fd = shm->get_mapping_handle().handle;
    if (std::string bad = check_private(fd); !bad.empty()) fail("{}", bad);
    // Reserve the pages now: on a full /dev/shm, a plain ftruncate would let
    // the copy below die of SIGBUS.
    if (int e = ::posix_fallocate(fd, 0, static_cast<off_t>(image.size())); e != 0)
      fail("cannot allocate {} bytes: {}", image.size(), std::strerror(e));
    shm->truncate(static_cast<bip::offset_t>(image.size()));
    bip::mapped_region rw(*shm, bip::read_write);
    auto* dst = static_cast<uint8_t*>(rw.get_address());
    std::memcpy(dst, image.data(), image.size());
    auto* hdr = reinterpret_cast<IndexHeader*>(dst);
    hdr->creator_pid = static_cast<uint32_t>(getpid());
    std::atomic_ref<uint32_t>(hdr->ready).store(1, std::memory_order_release);
  } catch (...) {
    bip::shared_memory_object::remove(name.c_str());
    throw;
  }
  auto m = std::make_unique<IndexHandle::Mapping>();
  m->region.emplace(*shm, bip::read_only);
  Bytes img(static_cast<const uint8_t*>(m->region->get_address()), image.size());
  IndexView v = IndexView::open(img, IndexView::Verify::kLayout);
  return IndexHandle(std::move(m), v, IndexSource::kSharedMemory, name);
}

IndexHandle IndexStore::publish(const std::vector<uint8_t>& image, const BinaryIdentity& id,
                                std::vector<std::string>* notes) {
  auto note = [&](const std::string& why) {
    if (notes) notes->push_back(why);
  };
  bool written = false;
  try {
    write_file(image, id.key);
    written = true;
  } catch (const std::exception& e) {
    note(fmt::format("the index is not cached on disk: {}", e.what()));
  }
  // Replace whatever is published under this key (it may be incomplete).
  const std::string name = shm_name(id.key);
  bip::shared_memory_object::remove(name.c_str());
  try {
    return write_shm(image, id);
  } catch (const std::exception& e) {
    note(fmt::format("shared memory {}: cannot publish ({}); using a private copy", name, e.what()));
  }
  auto m = std::make_unique<IndexHandle::Mapping>();
  m->buffer.resize((image.size() + 7) / 8);
  std::memcpy(m->buffer.data(), image.data(), image.size());
  IndexView v = IndexView::open(Bytes(reinterpret_cast<const uint8_t*>(m->buffer.data()), image.size()),
                                IndexView::Verify::kLayout);
  return IndexHandle(std::move(m), v, IndexSource::kBuilt, written ? cache_path(id.key) : "(private copy)");
}

namespace {
// paths/<hash of the absolute binary path>: the key that binary had last.
std::string path_record(const std::string& binary) {
  std::error_code ec;
  std::string abs = std::filesystem::absolute(binary, ec).lexically_normal().string();
  return fmt::format("{:016x}", std::hash<std::string>{}(abs));
}
}  // namespace

void IndexStore::remember_path(const std::string& binary, uint64_t key) {
  if (last_key_for(binary) == key) return;
  std::string why;
  Fd dir = open_dir(cache_dir_, true, &why);
  if (!dir.ok()) return;
  Fd paths = open_subdir(dir.fd, "paths", true, &why);
  if (!paths.ok()) return;
  std::string text = fmt::format("{:016x}\n", key);
  try {
    write_atomically(paths.fd, cache_dir_ + "/paths", path_record(binary), text.data(), text.size(), false);
  } catch (const Error&) {
    // Only `dlvidx doctor` reads these records: not worth failing a build for.
  }
}

std::optional<uint64_t> IndexStore::last_key_for(const std::string& binary) const {
  std::string why;
  Fd dir = open_dir(cache_dir_, false, &why);
  if (!dir.ok()) return std::nullopt;
  Fd paths = open_subdir(dir.fd, "paths", false, &why);
  if (!paths.ok()) return std::nullopt;
  try {
    uint64_t size = 0;
    auto buf = read_private(paths.fd, path_record(binary), 64, &size);
    if (!buf) return std::nullopt;
    std::string text(reinterpret_cast<const char*>(buf->data()), size);
    if (text.size() != 17 || text.back() != '\n' || text.find_first_not_of("0123456789abcdef") != 16)
      return std::nullopt;
    return std::stoull(text.substr(0, 16), nullptr, 16);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void IndexStore::remove(uint64_t key) {
  bip::shared_memory_object::remove(shm_name(key).c_str());
  ::unlink(cache_path(key).c_str());
}

}  // namespace dlvidx::index
