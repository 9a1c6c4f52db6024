#include "index/store.h"

#include <fcntl.h>
#include <signal.h>
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
#include <thread>

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

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/') return std::string(x) + "/dlvidx";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/dlvidx";
  return fmt::format("/tmp/dlvidx-{}", geteuid());
}

// Ours and private: owned by us, no group/other permissions.
std::string check_private(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return fmt::format("cannot stat: {}", std::strerror(errno));
  if (st.st_uid != geteuid()) return fmt::format("owned by uid {}, not {}", st.st_uid, geteuid());
  if (st.st_mode & 077) return fmt::format("mode {:o} is not private", st.st_mode & 0777);
  return {};
}

bool pid_alive(uint32_t pid) { return pid != 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

}  // namespace

IndexStore::IndexStore(std::string cache_dir)
    : cache_dir_(cache_dir.empty() ? default_cache_dir() : std::move(cache_dir)) {}

std::string IndexStore::shm_name(uint64_t key) const {
  return fmt::format("dlvidx-{}-{:016x}", geteuid(), key);
}

std::string IndexStore::cache_path(uint64_t key) const {
  return fmt::format("{}/{:016x}.idx", cache_dir_, key);
}

std::optional<IndexHandle> IndexStore::open(const BinaryIdentity& id, std::vector<std::string>* notes) {
  if (auto h = open_shm(id, notes)) {
    // Published by a process with another cache directory, or the file was
    // removed: write it, so the index survives the shared memory (a reboot).
    if (::access(cache_path(id.key).c_str(), F_OK) != 0) {
      Bytes img = h->view().bytes();
      std::vector<uint8_t> copy(img.begin(), img.end());
      auto* hdr = reinterpret_cast<IndexHeader*>(copy.data());
      hdr->ready = 0;
      hdr->creator_pid = 0;
      try {
        write_file(copy, id.key);
      } catch (const Error& e) {
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
  // A publisher copies the image in and then sets `ready`; wait briefly for one
  // that is alive, remove what a dead one left behind.
  for (int attempt = 0; attempt < 200; attempt++) {
    try {
      bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_only);
      if (std::string bad = check_private(shm.get_mapping_handle().handle); !bad.empty()) {
        note(bad + "; ignored");
        return std::nullopt;  // not ours: never trusted, never removed
      }
      bip::offset_t size = 0;
      if (!shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(IndexHeader))) {
        note("too small; removed");
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
      Bytes img(static_cast<const uint8_t*>(m->region->get_address()), m->region->get_size());
      img = img.first(std::min<uint64_t>(img.size(), hdr->total_size));
      IndexView v = IndexView::open(img, IndexView::Verify::kLayout);
      if (!identity_matches(v.header(), id)) {
        note("belongs to another binary; removed");
        bip::shared_memory_object::remove(name.c_str());
        return std::nullopt;
      }
      return IndexHandle(std::move(m), v, IndexSource::kSharedMemory, name);
    } catch (const bip::interprocess_exception& e) {
      if (e.get_error_code() != bip::not_found_error) note(e.what());
      return std::nullopt;
    } catch (const Error& e) {
      note(std::string(e.what()) + "; removed");
      bip::shared_memory_object::remove(name.c_str());
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<IndexHandle> IndexStore::open_file(const BinaryIdentity& id, std::vector<std::string>* notes) {
  const std::string path = cache_path(id.key);
  auto note = [&](const std::string& why) {
    if (notes) notes->push_back(fmt::format("cache file {}: {}", path, why));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) note(std::strerror(errno));
    return std::nullopt;
  }
  if (std::string bad = check_private(fd); !bad.empty()) {
    ::close(fd);
    note(bad + "; ignored");
    return std::nullopt;
  }
  struct stat st {};
  fstat(fd, &st);
  auto m = std::make_unique<IndexHandle::Mapping>();
  m->buffer.resize((static_cast<uint64_t>(st.st_size) + 7) / 8);
  auto* dst = reinterpret_cast<uint8_t*>(m->buffer.data());
  uint64_t got = 0;
  while (got < static_cast<uint64_t>(st.st_size)) {
    ssize_t n = ::read(fd, dst + got, st.st_size - got);
    if (n <= 0) break;
    got += static_cast<uint64_t>(n);
  }
  ::close(fd);
  try {
    if (got != static_cast<uint64_t>(st.st_size)) fail("short read");
    IndexView v = IndexView::open(Bytes(dst, got), IndexView::Verify::kFull);
    if (!identity_matches(v.header(), id)) fail("belongs to another binary");
    std::vector<uint8_t> image(dst, dst + got);
    try {
      return write_shm(image, id);
    } catch (const std::exception& e) {
      note(fmt::format("could not publish to shared memory ({}); using the file", e.what()));
      return IndexHandle(std::move(m), v, IndexSource::kCacheFile, path);
    }
  } catch (const Error& e) {
    note(std::string(e.what()) + "; removed");
    ::unlink(path.c_str());
    return std::nullopt;
  }
}

void IndexStore::write_file(const std::vector<uint8_t>& image, uint64_t key) {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir_, ec);
  ::chmod(cache_dir_.c_str(), 0700);
  const std::string path = cache_path(key);
  const std::string tmp = fmt::format("{}.tmp.{}.{}", path, getpid(), std::hash<std::thread::id>{}(std::this_thread::get_id()) & 0xffff);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("{}: cannot create: {}", tmp, std::strerror(errno));
  uint64_t put = 0;
  while (put < image.size()) {
    ssize_t n = ::write(fd, image.data() + put, image.size() - put);
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("{}: write failed: {}", tmp, std::strerror(e));
    }
    put += static_cast<uint64_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("{}: cannot rename into place: {}", path, std::strerror(e));
  }
}

IndexHandle IndexStore::write_shm(const std::vector<uint8_t>& image, const BinaryIdentity& id) {
  const std::string name = shm_name(id.key);
  bip::permissions perm;
  perm.set_permissions(0600);
  std::optional<bip::shared_memory_object> shm;
  try {
    shm.emplace(bip::create_only, name.c_str(), bip::read_write, perm);
  } catch (const bip::interprocess_exception& e) {
    if (e.get_error_code() != bip::already_exists_error) throw;
    // Someone published (or is publishing) the same identity: use theirs.
    if (auto h = open_shm(id, nullptr)) return std::move(*h);
    bip::shared_memory_object::remove(name.c_str());
    shm.emplace(bip::create_only, name.c_str(), bip::read_write, perm);
  }
  shm->truncate(static_cast<bip::offset_t>(image.size()));
  {
    bip::mapped_region rw(*shm, bip::read_write);
    auto* dst = static_cast<uint8_t*>(rw.get_address());
    std::memcpy(dst, image.data(), image.size());
    auto* hdr = reinterpret_cast<IndexHeader*>(dst);
    hdr->creator_pid = static_cast<uint32_t>(getpid());
    std::atomic_ref<uint32_t>(hdr->ready).store(1, std::memory_order_release);
  }
  auto m = std::make_unique<IndexHandle::Mapping>();
  m->region.emplace(*shm, bip::read_only);
  Bytes img(static_cast<const uint8_t*>(m->region->get_address()), image.size());
  IndexView v = IndexView::open(img, IndexView::Verify::kLayout);
  return IndexHandle(std::move(m), v, IndexSource::kSharedMemory, name);
}

IndexHandle IndexStore::publish(const std::vector<uint8_t>& image, const BinaryIdentity& id) {
  write_file(image, id.key);
  // Replace whatever is published under this key (it may be incomplete).
  bip::shared_memory_object::remove(shm_name(id.key).c_str());
  return write_shm(image, id);
}

namespace {
std::string path_record(const std::string& dir, const std::string& binary) {
  std::error_code ec;
  std::string abs = std::filesystem::absolute(binary, ec).lexically_normal().string();
  return fmt::format("{}/paths/{:016x}", dir, std::hash<std::string>{}(abs));
}
}  // namespace

void IndexStore::remember_path(const std::string& binary, uint64_t key) {
  std::string rec = path_record(cache_dir_, binary);
  if (last_key_for(binary) == key) return;
  std::error_code ec;
  std::filesystem::create_directories(cache_dir_ + "/paths", ec);
  std::string tmp = fmt::format("{}.{}", rec, getpid());
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    fmt::print(f, "{:016x}\n", key);
    std::fclose(f);
    ::chmod(tmp.c_str(), 0600);
    ::rename(tmp.c_str(), rec.c_str());
  }
}

std::optional<uint64_t> IndexStore::last_key_for(const std::string& binary) const {
  FILE* f = std::fopen(path_record(cache_dir_, binary).c_str(), "r");
  if (!f) return std::nullopt;
  unsigned long long k = 0;
  int n = std::fscanf(f, "%llx", &k);
  std::fclose(f);
  if (n != 1) return std::nullopt;
  return k;
}

void IndexStore::remove(uint64_t key) {
  bip::shared_memory_object::remove(shm_name(key).c_str());
  ::unlink(cache_path(key).c_str());
}

}  // namespace dlvidx::index
