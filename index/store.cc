// The IndexStore calls: which copy is opened, and what publishing does.
// Errors: store_internal.h.
#include "index/store.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "index/cache_dir.h"
#include "index/store_internal.h"

namespace dlvidx::index {

std::string_view to_string(IndexSource s) {
  switch (s) {
    case IndexSource::kSharedMemory:
      return "shared memory";
    case IndexSource::kCacheFile:
      return "cache file";
    case IndexSource::kBuilt:
      return "built";
  }
  return "?";
}

IndexHandle::IndexHandle(std::unique_ptr<IndexMapping> m, IndexView v, IndexSource s,
                         std::string loc)
    : mapping_(std::move(m)), view_(v), source_(s), location_(std::move(loc)) {}
IndexHandle::IndexHandle(IndexHandle&&) noexcept = default;
IndexHandle& IndexHandle::operator=(IndexHandle&&) noexcept = default;
IndexHandle::~IndexHandle() = default;

bool identity_matches(const IndexHeader& h, const BinaryIdentity& id) {
  auto eq = [](const char* field, size_t cap, const std::string& s) {
    return strnlen(field, cap) == std::min(s.size(), cap - 1) &&
           std::memcmp(field, s.data(), std::min(s.size(), cap - 1)) == 0;
  };
  return h.identity == id.key && h.binary_size == id.size && h.dwarf_hash == id.dwarf_hash &&
         h.slice_offset == id.slice_offset && h.arch == static_cast<uint8_t>(id.arch) &&
         h.format == static_cast<uint8_t>(id.format) &&
         eq(h.go_build_id, sizeof h.go_build_id, id.go_build_id) &&
         eq(h.gnu_build_id, sizeof h.gnu_build_id, id.gnu_build_id) &&
         eq(h.uuid, sizeof h.uuid, id.uuid);
}

IndexStore::IndexStore(std::string cache_dir)
    : cache_dir_(cache_dir.empty() ? default_cache_dir() : std::move(cache_dir)) {
  while (cache_dir_.size() > 1 && cache_dir_.back() == '/') cache_dir_.pop_back();
}

namespace {
std::string base36(uint64_t v) {
  std::string out;
  do {
    out.insert(out.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
    v /= 36;
  } while (v);
  return out;
}
}  // namespace

std::string shm_name(uid_t uid, uint64_t key) {
  return "dlvidx-" + base36(uid) + "-" + base36(key);
}

std::string IndexStore::shm_name(uint64_t key) const { return index::shm_name(geteuid(), key); }

std::string IndexStore::cache_path(uint64_t key) const {
  return fmt::format("{}/{}", cache_dir_, key_file(key));
}

std::optional<IndexHandle> IndexStore::open(const BinaryIdentity& id,
                                            std::vector<std::string>* notes) {
  if (auto h = open_shm(id, notes)) {
    // Published by a process with another cache directory, or the file was
    // removed: write it, so the index survives the shared memory (a reboot).
    try {
      if (!has_file(id.key)) {
        Bytes img = h->view().bytes();
        std::vector<uint8_t> copy(img.begin(), img.end());
        auto* hdr = reinterpret_cast<IndexHeader*>(copy.data());
        hdr->ready = 0;
        hdr->creator_pid = 0;
        write_file(copy, id.key);
      }
    } catch (const std::exception& e) {
      if (notes) notes->push_back(e.what());
    }
    return h;
  }
  return open_file(id, notes);
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
  remove_shm(name);
  try {
    return write_shm(image, id);
  } catch (const std::exception& e) {
    note(
        fmt::format("shared memory {}: cannot publish ({}); using a private copy", name, e.what()));
  }
  auto m = std::make_unique<BufferMapping>();
  m->words.resize((image.size() + 7) / 8);
  m->size = image.size();
  std::memcpy(m->words.data(), image.data(), image.size());
  IndexView v = IndexView::open(m->bytes(), IndexView::Verify::kLayout);
  return IndexHandle(std::move(m), v, IndexSource::kBuilt,
                     written ? cache_path(id.key) : "(private copy)");
}

void IndexStore::remove(uint64_t key) {
  remove_shm(shm_name(key));
  ::unlink(cache_path(key).c_str());
}

}  // namespace dlvidx::index
