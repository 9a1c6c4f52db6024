// The shared memory objects (shm_name, store.h): the only user of
// Boost.Interprocess. POSIX shm_open on every system: on macOS Boost would
// otherwise emulate it with files in a shared temporary directory
// (index/CMakeLists.txt defines BOOST_INTERPROCESS_POSIX_SHARED_MEMORY_OBJECTS
// there). A publisher creates the object 0600, reserves and sizes
// it, copies the image in and sets `ready` last (release); readers map it
// read-only and verify the checksum on every open. Errors: store_internal.h.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "index/store_internal.h"
#include "preload/platform.h"

namespace bip = boost::interprocess;

namespace dlvidx::index {
namespace {

struct ShmMapping : IndexMapping {
  bip::mapped_region region;
  Bytes bytes() const {
    return Bytes(static_cast<const uint8_t*>(region.get_address()), region.get_size());
  }
};

bool pid_alive(uint32_t pid) {
  return pid != 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

}  // namespace

void remove_shm(const std::string& name) { bip::shared_memory_object::remove(name.c_str()); }

std::optional<IndexHandle> IndexStore::open_shm(const BinaryIdentity& id,
                                                std::vector<std::string>* notes) {
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
      check_private(shm.get_mapping_handle().handle, Kind::kShm);
      bip::offset_t size = 0;
      if (!shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(IndexHeader))) {
        if (attempt < 20) {  // maybe a publisher between creating and sizing it
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        note(fmt::format("{} bytes, too small for an index; removed", size));
        remove_shm(name);
        return std::nullopt;
      }
      auto m = std::make_unique<ShmMapping>();
      m->region = bip::mapped_region(shm, bip::read_only);
      const auto* hdr = static_cast<const IndexHeader*>(m->region.get_address());
      uint32_t ready = std::atomic_ref<const uint32_t>(hdr->ready).load(std::memory_order_acquire);
      if (!ready) {
        if (pid_alive(hdr->creator_pid) && attempt < 199) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        note("left incomplete by a dead publisher; removed");
        remove_shm(name);
        return std::nullopt;
      }
      if (ready != 1) fail("index is corrupt: ready flag {:#x}", ready);
      Bytes img = m->bytes();
      img = img.first(std::min<uint64_t>(img.size(), hdr->total_size));
      IndexView v = IndexView::open(img, IndexView::Verify::kChecksum);
      if (!identity_matches(v.header(), id)) {
        note("belongs to another binary; removed");
        remove_shm(name);
        return std::nullopt;
      }
      return IndexHandle(std::move(m), v, IndexSource::kSharedMemory, name);
    } catch (const bip::interprocess_exception& e) {
      if (e.get_error_code() == bip::not_found_error) return std::nullopt;
      std::optional<uid_t> owner;
      if (e.get_native_error() == ELOOP) {
        note("a symbolic link: not followed; removed");
        remove_shm(name);
      } else if (e.get_native_error() == EACCES && (owner = platform::shm_owner(name)) &&
                 *owner != geteuid()) {
        note(fmt::format("owned by another user, {}, not by {}: not trusted; ignored",
                         user_label(*owner), user_label(geteuid())));
      } else if (e.get_native_error() == EACCES) {
        note("not readable by us (another user's?): not trusted; ignored");
      } else {
        note(e.what());
      }
      return std::nullopt;
    } catch (const Untrusted& e) {
      note(std::string(e.what()) + "; ignored");
      return std::nullopt;  // not ours: never trusted (publish replaces it if it can)
    } catch (const Error& e) {
      note(std::string(e.what()) + "; removed");
      remove_shm(name);
      return std::nullopt;
    } catch (const std::exception& e) {
      note(e.what());
      return std::nullopt;
    }
  }
  return std::nullopt;
}

IndexHandle IndexStore::write_shm(Bytes image, const BinaryIdentity& id) {
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
      remove_shm(name);
    }
  }
  try {
    check_private(shm->get_mapping_handle().handle, Kind::kShm);
    // Boost (1.83+) reserves the pages with posix_fallocate where there is one
    // (Linux): on a full /dev/shm this throws, where a plain ftruncate would
    // let the copy below die of SIGBUS. macOS has none, and its shm objects
    // are anonymous memory sized once, by this ftruncate.
    shm->truncate(static_cast<bip::offset_t>(image.size()));
    bip::mapped_region rw(*shm, bip::read_write);
    auto* dst = static_cast<uint8_t*>(rw.get_address());
    std::memcpy(dst, image.data(), image.size());
    auto* hdr = reinterpret_cast<IndexHeader*>(dst);
    hdr->creator_pid = static_cast<uint32_t>(getpid());
    std::atomic_ref<uint32_t>(hdr->ready).store(1, std::memory_order_release);
  } catch (...) {
    remove_shm(name);
    throw;
  }
  auto m = std::make_unique<ShmMapping>();
  m->region = bip::mapped_region(*shm, bip::read_only);
  IndexView v = IndexView::open(m->bytes().first(image.size()), IndexView::Verify::kLayout);
  return IndexHandle(std::move(m), v, IndexSource::kSharedMemory, name);
}

}  // namespace dlvidx::index
