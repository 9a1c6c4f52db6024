#include "preload/dwarf_sections.h"

#include <zlib.h>

#include <cstring>

#include "preload/byte_reader.h"
#include "preload/error.h"
#include "preload/threads.h"

namespace dlvidx {
namespace {

constexpr uint32_t kElfCompressZlib = 1;

Bytes inflate_into(const std::string& path, const std::string& name, Bytes in, uint64_t declared,
                   DwarfSections& out) {
  if (declared > kMaxSectionBytes ||
      declared > std::max<uint64_t>(in.size() * kMaxInflateRatio, kInflateAllowanceBytes))
    fail(
        "{}: compressed section {} declares {} bytes from {} compressed bytes; refusing (limit {} "
        "bytes, ratio {})",
        path, name, declared, in.size(), kMaxSectionBytes, kMaxInflateRatio);
  // Not zero-filled: pages are touched only as inflate writes them, so a size
  // that lies costs no more memory than the stream really inflates to.
  auto buf = std::make_unique_for_overwrite<uint8_t[]>(declared ? declared : 1);
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) fail("{}: zlib init failed for {}", path, name);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(std::min<uint64_t>(in.size(), UINT32_MAX));
  zs.next_out = buf.get();
  zs.avail_out = static_cast<uInt>(std::min<uint64_t>(declared, UINT32_MAX));
  int rc = Z_OK;
  while (rc == Z_OK) {
    rc = inflate(&zs, Z_FINISH);
    if (rc == Z_BUF_ERROR && zs.avail_out == 0 && zs.total_out < declared) {
      zs.avail_out = static_cast<uInt>(std::min<uint64_t>(declared - zs.total_out, UINT32_MAX));
      rc = Z_OK;
    }
  }
  uint64_t got = zs.total_out;
  const char* msg = zs.msg;
  bool input_used_up = zs.avail_in == 0;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    if (rc == Z_BUF_ERROR && got == declared)
      fail("{}: compressed section {} inflates to more than its declared {} bytes", path, name,
           declared);
    if (rc == Z_BUF_ERROR && input_used_up)
      fail(
          "{}: compressed section {} is cut short: its zlib stream ends after {} of its declared "
          "{} bytes",
          path, name, got, declared);
    fail("{}: compressed section {} is corrupt: zlib: {}", path, name, msg ? msg : zError(rc));
  }
  if (got != declared)
    fail("{}: compressed section {} inflates to {} bytes, but declares {}", path, name, got,
         declared);
  Bytes view(buf.get(), declared);
  out.owned.push_back(std::move(buf));
  return view;
}

}  // namespace

Bytes decompress_section(const std::string& path, const Section& s, DwarfSections& out) {
  switch (s.compression) {
    case Compression::kNone:
      return s.data;
    case Compression::kElfChdr: {
      ByteReader r(s.data, path, "compressed section header");
      uint32_t type = r.u32();
      r.u32();  // reserved
      uint64_t size = r.u64();
      r.u64();  // addralign
      if (type != kElfCompressZlib)
        fail("{}: section {} uses compression type {}; only zlib (1) is supported", path, s.name,
             type);
      out.compressed++;
      return inflate_into(path, s.name, s.data.subspan(r.pos()), size, out);
    }
    case Compression::kZlibHeader: {
      if (s.data.size() < 12 || std::memcmp(s.data.data(), "ZLIB", 4) != 0)
        fail("{}: section {} lacks its \"ZLIB\" header", path, s.name);
      ByteReader r(s.data.subspan(4), path, "compressed section header", /*big_endian=*/true);
      uint64_t size = r.u64();
      out.compressed++;
      return inflate_into(path, s.name, s.data.subspan(12), size, out);
    }
  }
  return {};
}

DwarfSections load_dwarf_sections(const std::string& path, const ObjectFile& obj) {
  DwarfSections out;
  std::vector<const Section*> found;
  for (const char* name : kIndexSections)
    if (const Section* s = obj.find(name)) found.push_back(s);
  // Inflate the sections concurrently (.debug_info and .debug_line are most of
  // the bytes), each into its own DwarfSections, then merge in order.
  std::vector<DwarfSections> each(found.size());
  std::vector<Bytes> views(found.size());
  run_tasks(found.size(),
            [&](size_t i) { views[i] = decompress_section(path, *found[i], each[i]); });
  for (size_t i = 0; i < found.size(); i++) {
    out.raw_bytes += found[i]->data.size();
    out.bytes += views[i].size();
    out.views[found[i]->name] = views[i];
    out.compressed += each[i].compressed;
    for (auto& b : each[i].owned) out.owned.push_back(std::move(b));
  }
  if (out.get(".debug_info").empty() || out.get(".debug_line").empty()) {
    fail(
        "{}: no DWARF: built with -s/-w? (no .debug_info/.debug_line; rebuild without "
        "-ldflags=\"-s -w\")",
        path);
  }
  return out;
}

}  // namespace dlvidx
