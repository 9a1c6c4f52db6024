#include "index/lookup.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <mutex>

#include "preload/error.h"

namespace dlvidx::index {

struct IndexView::Names {
  std::once_flag once;
  std::string text;
  bool ok = false;
};

namespace {

template <typename T>
const T* table(Bytes img, const TableRef& r, uint64_t count, const char* name) {
  // count is checked first so that count * sizeof(T) cannot wrap around.
  if (r.offset % alignof(T) || r.offset > img.size() || r.bytes > img.size() - r.offset ||
      count > img.size() / sizeof(T) || r.bytes != count * sizeof(T))
    fail(
        "index is corrupt: table {} (offset {}, {} bytes, {} entries) does not fit the image ({} "
        "bytes)",
        name, r.offset, r.bytes, count, img.size());
  return reinterpret_cast<const T*>(img.data() + r.offset);
}

}  // namespace

IndexView IndexView::open(Bytes img, Verify verify) {
  IndexView v;
  v.image_ = img;
  if (img.size() < sizeof(IndexHeader))
    fail("index is corrupt: {} bytes, shorter than its header", img.size());
  if (reinterpret_cast<uintptr_t>(img.data()) % 8) fail("index image is misaligned");
  const auto* h = reinterpret_cast<const IndexHeader*>(img.data());
  if (std::memcmp(h->magic, kMagic, sizeof kMagic) != 0) fail("index is corrupt: bad magic");
  if (h->format_version != kFormatVersion)
    fail("index has format version {}, this dlvidx reads version {}", h->format_version,
         kFormatVersion);
  if (h->header_size != sizeof(IndexHeader) || h->total_size != img.size())
    fail("index is corrupt: header says {} bytes, image has {}", h->total_size, img.size());
  if (verify != Verify::kLayout) {
    uint64_t sum = image_checksum(img.data(), img.size());
    if (sum != h->checksum)
      fail("index is corrupt: checksum mismatch (header says {:016x}, content hashes to {:016x})",
           h->checksum, sum);
  }
  v.h_ = h;
  v.strings_ = table<char>(img, h->strings, h->strings.bytes, "strings");
  v.files_ = table<FileEntry>(img, h->files, h->n_files, "files");
  v.file_hash_ = table<uint32_t>(img, h->file_hash, h->file_hash_cap, "file_hash");
  v.words_ = table<LineWord>(img, h->words, h->n_words, "words");
  v.values_ = table<uint32_t>(img, h->values, h->n_keys, "values");
  v.pc_lists_n_ = h->pc_lists.bytes / 4;
  v.pc_lists_ = table<uint32_t>(img, h->pc_lists, v.pc_lists_n_, "pc_lists");
  v.functions_ = table<FunctionEntry>(img, h->functions, h->n_functions, "functions");
  table<uint8_t>(img, h->names, h->names.bytes, "names");
  v.names_ = std::make_shared<Names>();
  if (!std::has_single_bit(h->file_hash_cap) || h->n_files >= h->file_hash_cap)
    fail("index is corrupt: bad file hash table size");
  // zlib inflates at most ~1032:1; anything claiming more is a lie (and would be a huge
  // allocation).
  if (h->names_bytes > (h->names.bytes + 64) * 1100)
    fail("index is corrupt: {} bytes of function names claim to inflate to {}", h->names.bytes,
         h->names_bytes);
  const uint64_t sbytes = h->strings.bytes;
  if (sbytes && v.strings_[sbytes - 1] != '\0') fail("index is corrupt: unterminated string table");
  // Files are few: always check them, so every lookup stays in bounds.
  for (uint64_t i = 0; i < h->n_files; i++) {
    const FileEntry& f = v.files_[i];
    uint64_t nwords = f.n_values ? (uint64_t(f.max_line) - f.min_line + 64) / 64 : 0;
    if (f.path >= sbytes || f.path_len > sbytes - f.path - 1 || f.base > f.path_len ||
        f.min_line > f.max_line || f.words > h->n_words || nwords > h->n_words - f.words ||
        f.values > h->n_keys || f.n_values > h->n_keys - f.values)
      fail("index is corrupt: file entry {}", i);
  }
  if (verify != Verify::kFull) return v;
  // Everything else, for images read from disk.
  for (uint64_t i = 0; i < h->n_files; i++) {
    const FileEntry& f = v.files_[i];
    if (!f.n_values) continue;
    uint64_t nwords = (uint64_t(f.max_line) - f.min_line + 64) / 64;
    uint64_t set = 0;
    for (uint64_t w = 0; w < nwords; w++) {
      if (v.words_[f.words + w].rank != set)
        fail("index is corrupt: rank of file {} word {}", i, w);
      set += std::popcount(v.words_[f.words + w].bits);
    }
    if (set != f.n_values)
      fail("index is corrupt: file {} has {} lines but {} values", i, set, f.n_values);
  }
  for (uint64_t i = 0; i < h->n_keys; i++) {
    uint32_t val = v.values_[i];
    if ((val & kPcList) && ((val & ~kPcList) >= v.pc_lists_n_ ||
                            v.pc_lists_[val & ~kPcList] > v.pc_lists_n_ - (val & ~kPcList) - 1))
      fail("index is corrupt: PC list of value {}", i);
  }
  const std::string* names = v.names();
  if (!names) fail("index is corrupt: function names do not inflate to {} bytes", h->names_bytes);
  for (uint64_t i = 0; i < h->n_functions; i++)
    if (v.functions_[i].name >= names->size()) fail("index is corrupt: function entry {}", i);
  return v;
}

std::string_view IndexView::file_path(uint32_t f) const {
  return {strings_ + files_[f].path, files_[f].path_len};
}

std::string_view IndexView::file_base(uint32_t f) const {
  return file_path(f).substr(files_[f].base);
}

std::optional<uint32_t> IndexView::file_id(std::string_view path) const {
  uint32_t mask = h_->file_hash_cap - 1;
  uint32_t s = path_hash(path) & mask;
  for (uint32_t n = 0; n <= mask; n++, s = (s + 1) & mask) {
    uint32_t v = file_hash_[s];
    if (v == 0) return std::nullopt;
    if (v - 1 < h_->n_files && file_path(v - 1) == path) return v - 1;
  }
  return std::nullopt;
}

FileMatch IndexView::match_file(std::string_view q) const {
  FileMatch m;
  if (auto id = file_id(q)) {
    m.file = id;
    m.kind = FileMatch::kExact;
    return m;
  }
  if (q.empty()) return m;
  for (uint32_t f = 0; f < n_files(); f++) {
    std::string_view p = file_path(f);
    if (p.size() > q.size() && p.ends_with(q) &&
        (q.front() == '/' || p[p.size() - q.size() - 1] == '/'))
      m.candidates.push_back(f);
  }
  if (m.candidates.size() == 1) {
    m.file = m.candidates[0];
    m.kind = FileMatch::kSuffix;
  } else if (m.candidates.size() > 1) {
    m.kind = FileMatch::kAmbiguous;
  }
  return m;
}

Location IndexView::find_file_location(uint32_t file, uint32_t line) const {
  Location loc;
  loc.file = file;
  if (file >= h_->n_files) return loc;
  loc.status = LookupStatus::kNoStatement;
  const FileEntry& f = files_[file];
  if (!f.n_values || line < f.min_line || line > f.max_line) return loc;
  uint32_t bit = line - f.min_line;
  const LineWord& w = words_[f.words + bit / 64];
  uint64_t below = w.bits & ((2ull << (bit % 64)) - 1);  // bits up to and including `bit`
  if (!(below >> (bit % 64))) return loc;
  // The rank is only checked by Verify::kFull: bound the index so that any view stays in bounds.
  uint64_t k = uint64_t(w.rank) + std::popcount(below) - 1;
  if (k >= f.n_values) return loc;  // corrupt: no answer
  uint32_t val = values_[f.values + k];
  loc.pcs.base = h_->pc_base;
  if (val & kPcList) {
    uint32_t at = val & ~kPcList;
    if (at >= pc_lists_n_ || pc_lists_[at] > pc_lists_n_ - at - 1)
      return loc;  // corrupt: no answer
    loc.pcs.count = pc_lists_[at];
    loc.pcs.ptr = pc_lists_ + at + 1;
  } else {
    loc.pcs.single = val;
    loc.pcs.count = 1;
  }
  loc.status = loc.pcs.count ? LookupStatus::kFound : LookupStatus::kNoAddresses;
  return loc;
}

std::string IndexView::error_text(const Location& loc, std::string_view file, uint32_t line) const {
  switch (loc.status) {
    case LookupStatus::kFound:
      return {};
    case LookupStatus::kNoAddresses:
      return {};  // dlv accepts the breakpoint with no addresses (its DAP layer then says "unable
                  // to set breakpoint")
    case LookupStatus::kNoStatement:
      return no_statement_text(file, line);
    case LookupStatus::kNoFile:
      return no_file_text(file);
  }
  return {};
}

std::string no_file_text(std::string_view file) {
  return fmt::format("could not find file {}", file);
}

std::string no_statement_text(std::string_view file, int64_t line) {
  return fmt::format("could not find statement at {}:{}, please use a line with a statement", file,
                     line);
}

std::vector<uint32_t> IndexView::lines_with_code(uint32_t file, uint32_t lo, uint32_t hi) const {
  std::vector<uint32_t> out;
  if (file >= h_->n_files) return out;
  const FileEntry& f = files_[file];
  if (!f.n_values) return out;
  lo = std::max(lo, f.min_line);
  hi = std::min(hi, f.max_line);
  for (uint64_t l = lo; l <= hi;) {
    uint64_t bit = l - f.min_line;
    uint64_t bits = words_[f.words + bit / 64].bits >> (bit % 64);
    if (!bits) {
      l += 64 - bit % 64;
      continue;
    }
    l += std::countr_zero(bits);
    if (l <= hi) out.push_back(static_cast<uint32_t>(l));
    l++;
  }
  return out;
}

const std::string* IndexView::names() const {
  std::call_once(names_->once, [&] {
    const TableRef& r = h_->names;
    if (h_->names_bytes > (1ull << 32) || h_->names_bytes > (r.bytes + 64) * 1100) return;
    names_->text.resize(h_->names_bytes);
    uLongf n = h_->names_bytes;
    names_->ok = uncompress(reinterpret_cast<Bytef*>(names_->text.data()), &n,
                            image_.data() + r.offset, r.bytes) == Z_OK &&
                 n == h_->names_bytes && (n == 0 || names_->text.back() == '\0');
  });
  return names_->ok ? &names_->text : nullptr;
}

std::string_view IndexView::function_name(uint32_t fn) const {
  const std::string* n = names();
  if (fn >= h_->n_functions || !n || functions_[fn].name >= n->size()) return {};
  return n->c_str() + functions_[fn].name;
}

std::optional<uint32_t> IndexView::function_at(uint64_t pc) const {
  const FunctionEntry* b = functions_;
  const FunctionEntry* e = functions_ + h_->n_functions;
  if (pc < h_->pc_base || pc - h_->pc_base > UINT32_MAX) return std::nullopt;
  uint32_t off = static_cast<uint32_t>(pc - h_->pc_base);
  auto it =
      std::upper_bound(b, e, off, [](uint32_t p, const FunctionEntry& f) { return p < f.entry; });
  if (it == b) return std::nullopt;
  --it;
  if (off - it->entry < it->size) return static_cast<uint32_t>(it - b);
  return std::nullopt;
}

}  // namespace dlvidx::index
