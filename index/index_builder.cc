#include "index/index_builder.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "index/index_format.h"
#include "preload/error.h"

namespace dlvidx::index {
namespace {

template <typename T>
void put(std::vector<uint8_t>& out, TableRef& ref, const std::vector<T>& v) {
  while (out.size() % 8) out.push_back(0);
  ref.offset = out.size();
  ref.bytes = v.size() * sizeof(T);
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  out.insert(out.end(), p, p + ref.bytes);
}

void copy_str(char* dst, size_t cap, const std::string& s) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, s.data(), std::min(s.size(), cap - 1));
}

}  // namespace

std::vector<uint8_t> build_index_image(const FileLineTable& t, const BinaryIdentity& id,
                                       const ObjectFile& obj, const BuildCounts& counts) {
  IndexHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.format_version = kFormatVersion;
  h.header_size = sizeof(IndexHeader);
  h.identity = id.key;
  h.binary_size = id.size;
  h.binary_mtime_ns = id.mtime_ns;
  h.dwarf_hash = id.dwarf_hash;
  h.slice_offset = id.slice_offset;
  copy_str(h.go_build_id, sizeof h.go_build_id, id.go_build_id);
  copy_str(h.gnu_build_id, sizeof h.gnu_build_id, id.gnu_build_id);
  copy_str(h.uuid, sizeof h.uuid, id.uuid);
  h.arch = static_cast<uint8_t>(obj.arch);
  h.format = static_cast<uint8_t>(obj.format);
  h.pie = obj.pie;
  h.link_base = obj.link_base;
  h.moduledata_addr = t.moduledata_addr;

  // PC base: the lowest PC anywhere in the table.
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint64_t pc : t.pcs) lo = std::min(lo, pc), hi = std::max(hi, pc);
  for (const auto& f : t.functions) lo = std::min(lo, f.entry);
  if (lo == UINT64_MAX) lo = 0;
  for (const auto& f : t.functions) hi = std::max(hi, f.end);
  if (hi > lo && hi - lo >= kPcList)
    fail("text spans {} bytes; the index format holds PCs within 2 GiB of each other", hi - lo);
  h.pc_base = lo;

  // Strings: file paths, then function names.
  std::vector<char> strings;
  auto add_string = [&](std::string_view s) {
    if (strings.size() + s.size() + 1 > UINT32_MAX) fail("string table over 4 GiB");
    uint32_t off = static_cast<uint32_t>(strings.size());
    strings.insert(strings.end(), s.begin(), s.end());
    strings.push_back('\0');
    return off;
  };

  std::vector<FileEntry> files(t.files.size());
  for (size_t i = 0; i < t.files.size(); i++) {
    const std::string& p = t.files[i];
    files[i].path = add_string(p);
    files[i].path_len = static_cast<uint32_t>(p.size());
    size_t slash = p.find_last_of('/');
    files[i].base = slash == std::string::npos ? 0 : static_cast<uint32_t>(slash + 1);
  }
  std::vector<FunctionEntry> fns(t.functions.size());
  std::string names;
  for (size_t i = 0; i < t.functions.size(); i++) {
    if (names.size() + t.functions[i].name.size() + 1 > UINT32_MAX)
      fail("function names over 4 GiB");
    fns[i] = {static_cast<uint32_t>(t.functions[i].entry - lo),
              static_cast<uint32_t>(t.functions[i].end - t.functions[i].entry),
              static_cast<uint32_t>(names.size()), t.functions[i].decl_line};
    names += t.functions[i].name;
    names.push_back('\0');
  }
  // Function names are most of the strings but only printed by the CLI:
  // stored deflated (level 1: fast, about 7x smaller on Go names).
  uLongf zlen = compressBound(names.size());
  std::vector<uint8_t> names_z(zlen);
  if (compress2(names_z.data(), &zlen, reinterpret_cast<const Bytef*>(names.data()), names.size(),
                1) != Z_OK)
    fail("cannot compress the function names");
  names_z.resize(zlen);
  h.names_bytes = names.size();

  // File hash table: power of two, at most half full.
  uint32_t fcap =
      std::bit_ceil<uint32_t>(std::max<uint32_t>(16, static_cast<uint32_t>(t.files.size()) * 2));
  std::vector<uint32_t> file_hash(fcap, 0);
  for (uint32_t i = 0; i < t.files.size(); i++) {
    uint32_t s = path_hash(t.files[i]) & (fcap - 1);
    while (file_hash[s]) s = (s + 1) & (fcap - 1);
    file_hash[s] = i + 1;
  }

  // The bitmaps cost a word per 64 lines from a file's first line with code
  // to its last. Real line tables are dense (Go caps line numbers below
  // 2^20); a corrupt one with lines billions apart would cost gigabytes, so
  // more than 1024 lines per line with code (beyond 4M lines) is refused.
  uint64_t need_words = 0;
  for (size_t b = 0, e; b < t.keys.size(); b = e) {
    for (e = b; e < t.keys.size() && t.keys[e].file == t.keys[b].file;) e++;
    need_words += (uint64_t(t.keys[e - 1].line) - t.keys[b].line + 64) / 64;
  }
  if (need_words > std::max<uint64_t>(1 << 16, 16 * t.keys.size()))
    fail(
        "line numbers too sparse for the index: {} lines with code span {} x 64 lines (a corrupt "
        "line table?)",
        t.keys.size(), need_words);

  // Per file: a bitmap of lines with code, and one value per set bit.
  std::vector<LineWord> words;
  std::vector<uint32_t> values, pc_lists;
  uint64_t n_pcs = 0;
  size_t k = 0;
  for (uint32_t f = 0; f < t.files.size(); f++) {
    size_t kb = k;
    while (k < t.keys.size() && t.keys[k].file == f) k++;
    FileEntry& fe = files[f];
    fe.words = static_cast<uint32_t>(words.size());
    fe.values = static_cast<uint32_t>(values.size());
    fe.n_values = static_cast<uint32_t>(k - kb);
    if (k == kb) continue;
    fe.min_line = t.keys[kb].line;
    fe.max_line = t.keys[k - 1].line;
    uint64_t span = uint64_t(fe.max_line) - fe.min_line + 1;
    size_t w0 = words.size();
    words.resize(w0 + (span + 63) / 64, LineWord{0, 0, 0});
    for (size_t i = kb; i < k; i++) {
      const FileLineResult& r = t.keys[i];
      auto pcs = t.pcs_of(r);
      uint64_t bit = r.line - fe.min_line;
      words[w0 + bit / 64].bits |= 1ull << (bit % 64);
      if (pcs.size() == 1) {
        values.push_back(static_cast<uint32_t>(pcs[0] - lo));
      } else {
        if (pc_lists.size() >= kPcList) fail("too many PC lists for the index format");
        values.push_back(kPcList | static_cast<uint32_t>(pc_lists.size()));
        pc_lists.push_back(static_cast<uint32_t>(pcs.size()));
        for (uint64_t pc : pcs) pc_lists.push_back(static_cast<uint32_t>(pc - lo));
      }
      n_pcs += pcs.size();
    }
    uint32_t rank = 0;
    for (size_t w = w0; w < words.size(); w++) {
      words[w].rank = rank;
      rank += static_cast<uint32_t>(std::popcount(words[w].bits));
    }
  }

  h.n_cus = counts.cus;
  h.n_files = t.files.size();
  h.n_keys = t.keys.size();
  h.n_pcs = n_pcs;
  h.n_functions = fns.size();
  h.n_rows = t.rows;
  h.n_words = words.size();
  h.dwarf_bytes = counts.dwarf_bytes;
  h.dwarf_raw_bytes = counts.dwarf_raw_bytes;
  h.file_hash_cap = fcap;

  std::vector<uint8_t> out(sizeof(IndexHeader), 0);
  put(out, h.strings, strings);
  put(out, h.files, files);
  put(out, h.file_hash, file_hash);
  put(out, h.words, words);
  put(out, h.values, values);
  put(out, h.pc_lists, pc_lists);
  put(out, h.functions, fns);
  put(out, h.names, names_z);
  while (out.size() % 8) out.push_back(0);
  h.total_size = out.size();
  std::memcpy(out.data(), &h, sizeof h);
  h.checksum = image_checksum(out.data(), out.size());
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

}  // namespace dlvidx::index
