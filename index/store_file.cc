// The cache directory and what is in it: <key>.idx files and the path
// records (paths/). Everything in the directory is reached through one
// directory descriptor, never through a symlink, and only if it is ours and
// private. Errors: store_internal.h.
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>

#include "index/store_internal.h"
#include "preload/platform.h"

namespace dlvidx::index {

Fd::~Fd() {
  if (fd >= 0) ::close(fd);
}

std::string user_label(uid_t uid) {
  struct passwd pw {};
  struct passwd* res = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
    return fmt::format("uid {} ({})", uid, res->pw_name);
  return fmt::format("uid {}", uid);
}

void check_private(int fd, Kind kind) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw Untrusted(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (kind == Kind::kShm ? !platform::is_shm_mode(st.st_mode) : !S_ISREG(st.st_mode))
    throw Untrusted("not a regular file: not trusted");
  if (st.st_uid != geteuid())
    throw Untrusted(fmt::format("owned by another user, {}, not by {}: not trusted",
                                user_label(st.st_uid), user_label(geteuid())));
  if (st.st_mode & 077)
    throw Untrusted(fmt::format("mode {:o} is not private (other users have access): not trusted",
                                st.st_mode & 0777));
}

std::string key_file(uint64_t key) { return fmt::format("{:016x}.idx", key); }

namespace {

// A cache file larger than this is not an index of ours (cmd/compile's is 2.6 MB).
constexpr uint64_t kMaxIndexBytes = 1ull << 32;

// A directory we may keep indexes in: ours, and no other user can add, remove
// or swap its entries. Throws Untrusted("<where>: <why>; not used").
void check_dir(int fd, const std::string& where) {
  struct stat st {};
  std::string bad;
  if (fstat(fd, &st) != 0)
    bad = fmt::format("cannot stat: {}", std::strerror(errno));
  else if (!S_ISDIR(st.st_mode))
    bad = "not a directory";
  else if (st.st_uid != geteuid())
    bad = fmt::format("owned by another user, {}, not by {}", user_label(st.st_uid),
                      user_label(geteuid()));
  else if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != getegid()))
    bad = fmt::format("mode {:o}: other users can write to it", st.st_mode & 07777);
  if (!bad.empty()) throw Untrusted(fmt::format("{}: {}; not used", where, bad));
}

// The cache directory, checked with check_dir. Everything in it is then
// reached relative to this descriptor, so the directory cannot be swapped in
// between. nullopt: it does not exist. Throws "cache directory D: <why>".
std::optional<Fd> open_dir(const std::string& dir) {
  const std::string where = "cache directory " + dir;
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.ok()) {
    if (errno == ENOENT) return std::nullopt;
    fail("{}: cannot open: {}", where, std::strerror(errno));
  }
  check_dir(d.fd, where);
  return d;
}

// The cache directory as open_dir, created 0700 (and its parents) if missing.
Fd create_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p(dir);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    fail("cache directory {}: cannot create: {}", dir, std::strerror(errno));
  std::optional<Fd> d = open_dir(dir);
  if (!d)
    fail("cache directory {}: cannot open: {}", dir, std::strerror(ENOENT));  // removed in between
  return std::move(*d);
}

// A subdirectory of an opened directory (`where` names it in errors),
// created 0700 when `create`; never a symlink. nullopt: it does not exist.
std::optional<Fd> open_subdir(int parent, const char* name, const std::string& where, bool create) {
  if (create && ::mkdirat(parent, name, 0700) != 0 && errno != EEXIST)
    fail("{}: cannot create: {}", where, std::strerror(errno));
  Fd d(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d.ok()) {
    if (errno == ENOENT) return std::nullopt;
    fail("{}: cannot open: {}", where, errno == ELOOP ? "a symbolic link" : std::strerror(errno));
  }
  check_dir(d.fd, where);
  return d;
}

// Writes `data` to a new private temp file in `dir` and renames it to `name`:
// a reader sees the old file or the whole new one, and a symlink or any other
// file planted at `name` is replaced, never followed.
void write_atomically(int dir, const std::string& dir_path, const std::string& name,
                      const void* data, uint64_t size, bool sync) {
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
// without blocking (a FIFO planted there is refused, not waited on), into an
// 8-byte aligned buffer. nullopt: absent. Throws the reason when it is there
// but refused.
std::optional<BufferMapping> read_private(int dir, const std::string& name, uint64_t max) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) throw Untrusted("a symbolic link: not followed");
    fail("cannot open: {}", std::strerror(errno));
  }
  check_private(fd.fd);
  struct stat st {};
  if (fstat(fd.fd, &st) != 0) fail("cannot stat: {}", std::strerror(errno));
  uint64_t want = static_cast<uint64_t>(st.st_size);
  if (want > max) fail("{} bytes: too large", want);
  BufferMapping buf;
  buf.words.resize((want + 7) / 8);
  auto* dst = reinterpret_cast<uint8_t*>(buf.words.data());
  uint64_t got = 0;
  while (got < want) {
    ssize_t n = ::read(fd.fd, dst + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<uint64_t>(n);
  }
  if (got != want) fail("short read ({} of {} bytes)", got, want);
  buf.size = want;
  return buf;
}

// paths/<hash of the absolute binary path>: the key that binary had last.
std::string path_record(const std::string& binary) {
  std::error_code ec;
  std::string abs = std::filesystem::absolute(binary, ec).lexically_normal().string();
  return fmt::format("{:016x}", std::hash<std::string>{}(abs));
}

}  // namespace

bool IndexStore::has_file(uint64_t key) const {
  try {
    std::optional<Fd> dir = open_dir(cache_dir_);
    struct stat st {};
    return dir && ::fstatat(dir->fd, key_file(key).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
  } catch (const Error&) {
    return false;  // write_file reports the directory
  }
}

std::optional<IndexHandle> IndexStore::open_file(const BinaryIdentity& id,
                                                 std::vector<std::string>* notes) {
  const std::string path = cache_path(id.key);
  const std::string file = key_file(id.key);
  std::optional<Fd> dir;
  try {
    dir = open_dir(cache_dir_);
  } catch (const Error&) {
    return std::nullopt;  // a refused directory is reported when the index is written
  }
  if (!dir) return std::nullopt;
  try {
    std::optional<BufferMapping> buf = read_private(dir->fd, file, kMaxIndexBytes);
    if (!buf) return std::nullopt;
    auto m = std::make_unique<BufferMapping>(std::move(*buf));
    IndexView v = IndexView::open(m->bytes(), IndexView::Verify::kFull);
    // The shared memory fields are 0 in a file (and not covered by the checksum).
    if (v.header().ready != 0 || v.header().creator_pid != 0)
      fail("index is corrupt: shared memory fields set in a cache file");
    if (!identity_matches(v.header(), id)) fail("belongs to another binary");
    try {
      return write_shm(m->bytes(), id);
    } catch (const std::exception& e) {
      if (notes)
        notes->push_back(
            fmt::format("cache file {}: could not publish to shared memory ({}); using the file",
                        path, e.what()));
      return IndexHandle(std::move(m), v, IndexSource::kCacheFile, path);
    }
  } catch (const std::exception& e) {
    if (notes) notes->push_back(fmt::format("cache file {}: {}; removed", path, e.what()));
    ::unlinkat(dir->fd, file.c_str(), 0);
    return std::nullopt;
  }
}

void IndexStore::write_file(Bytes image, uint64_t key) {
  Fd dir = create_dir(cache_dir_);
  write_atomically(dir.fd, cache_dir_, key_file(key), image.data(), image.size(), /*sync=*/true);
}

void IndexStore::remember_path(const std::string& binary, uint64_t key) {
  if (last_key_for(binary) == key) return;
  // Only `dlvidx doctor` reads these records: not worth failing a build for.
  try {
    Fd dir = create_dir(cache_dir_);
    std::optional<Fd> paths = open_subdir(dir.fd, "paths", cache_dir_ + "/paths", true);
    if (!paths) return;
    std::string text = fmt::format("{:016x}\n", key);
    write_atomically(paths->fd, cache_dir_ + "/paths", path_record(binary), text.data(),
                     text.size(), false);
  } catch (const Error&) {
  }
}

std::optional<uint64_t> IndexStore::last_key_for(const std::string& binary) const {
  try {
    std::optional<Fd> dir = open_dir(cache_dir_);
    if (!dir) return std::nullopt;
    std::optional<Fd> paths = open_subdir(dir->fd, "paths", cache_dir_ + "/paths", false);
    if (!paths) return std::nullopt;
    std::optional<BufferMapping> buf = read_private(paths->fd, path_record(binary), 64);
    if (!buf) return std::nullopt;
    std::string text(reinterpret_cast<const char*>(buf->words.data()), buf->size);
    if (text.size() != 17 || text.back() != '\n' ||
        text.find_first_not_of("0123456789abcdef") != 16)
      return std::nullopt;
    return std::stoull(text.substr(0, 16), nullptr, 16);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace dlvidx::index
