#include "preload/prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "preload/dwarf_sections.h"
#include "preload/platform.h"

namespace dlvidx {
namespace {

uint64_t page_size() {
  static const uint64_t ps = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return ps;
}

struct Span {
  uint8_t* start;
  uint64_t len;
};

Span page_span(const MappedFile& file, uint64_t offset, uint64_t size) {
  uint64_t ps = page_size();
  uint64_t lo = offset & ~(ps - 1);
  uint64_t hi =
      std::min<uint64_t>((offset + size + ps - 1) & ~(ps - 1), (file.size() + ps - 1) & ~(ps - 1));
  return {const_cast<uint8_t*>(file.bytes().data()) + lo, hi > lo ? hi - lo : 0};
}

}  // namespace

uint64_t PrefaultReport::pages() const {
  uint64_t n = 0;
  for (auto& r : ranges) n += r.pages;
  return n;
}
uint64_t PrefaultReport::resident_before() const {
  uint64_t n = 0;
  for (auto& r : ranges) n += r.resident_before;
  return n;
}
uint64_t PrefaultReport::resident_after() const {
  uint64_t n = 0;
  for (auto& r : ranges) n += r.resident_after;
  return n;
}

uint64_t resident_pages(const MappedFile& file, uint64_t offset, uint64_t size) {
  Span s = page_span(file, offset, size);
  return s.len ? platform::resident_pages(s.start, s.len, page_size()) : 0;
}

PrefaultReport prefault_dwarf(const MappedFile& file, const ObjectFile& obj, bool with_text) {
  PrefaultReport rep;
  for (const char* name : kIndexSections)
    if (const Section* s = obj.find(name); s && s->size)
      rep.ranges.push_back({name, s->offset, s->size});
  if (with_text)
    for (const char* name : {".text", "__TEXT,__text"})
      if (const Section* s = obj.find(name); s && s->size)
        rep.ranges.push_back({name, s->offset, s->size});

  for (auto& r : rep.ranges) {
    r.pages = page_span(file, r.offset, r.size).len / page_size();
    r.resident_before = resident_pages(file, r.offset, r.size);
  }
  auto t0 = std::chrono::steady_clock::now();
  rep.method = "populate_read";
  for (auto& r : rep.ranges) {
    Span s = page_span(file, r.offset, r.size);
    madvise(s.start, s.len, MADV_WILLNEED);
  }
  for (auto& r : rep.ranges) {
    Span s = page_span(file, r.offset, r.size);
    if (!platform::populate_read(s.start, s.len)) {
      rep.method = "touch";
      volatile uint8_t sink = 0;
      for (uint64_t o = 0; o < s.len; o += page_size()) sink = sink + s.start[o];
    }
  }
  rep.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (auto& r : rep.ranges) r.resident_after = resident_pages(file, r.offset, r.size);
  return rep;
}

}  // namespace dlvidx
