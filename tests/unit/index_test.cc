// The flat index: what goes in comes out, O(1) per key; corrupt images are
// refused; the store publishes to shared memory and the cache file, and
// rejects stale, corrupt or foreign copies.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "index/index_builder.h"
#include "index/line_table.h"
#include "index/lookup.h"
#include "index/store.h"
#include "preload/error.h"

using namespace dlvidx;
using namespace dlvidx::index;
using Catch::Matchers::ContainsSubstring;

namespace {

// A shared memory object's permission bits, through shm_open (POSIX: no
// /dev/shm path, which macOS does not have); -1 if there is none.
int shm_mode(const std::string& name) {
  int fd = shm_open(("/" + name).c_str(), O_RDONLY, 0);
  if (fd < 0) return -1;
  struct stat st {};
  int mode = fstat(fd, &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  close(fd);
  return mode;
}

FileLineTable sample_table() {
  FileLineTable t;
  t.files = {"/src/a.go", "/src/b/a.go", "/src/c.go"};
  t.functions = {
      {0x1000, 0x1100, "main.a", 1}, {0x1100, 0x1200, "main.b", 0}, {0x2000, 0x2100, "b.a", 0}};
  // a.go: lines 3, 5 (two PCs), 70 (beyond one bitmap word), 200 (no addresses)
  t.pcs = {0x1004, 0x1010, 0x1120, 0x1130, 0x2008};
  t.keys.push_back({0, 3, 0, 1});
  t.keys.push_back({0, 5, 1, 2});
  t.keys.push_back({0, 70, 3, 1});
  t.keys.push_back({0, 200, 4, 0});
  t.keys.push_back({1, 1, 4, 1});
  return t;
}

BinaryIdentity sample_id(uint64_t key = 42) {
  BinaryIdentity id;
  id.go_build_id = "abc/def";
  id.size = 1234;
  id.dwarf_hash = 99;
  id.key = key;
  return id;
}

std::vector<uint8_t> sample_image(uint64_t key = 42) {
  ObjectFile obj;
  return build_index_image(sample_table(), sample_id(key), obj, {1, 100, 50});
}

std::vector<uint64_t> pcs_of(const Location& l) {
  std::vector<uint64_t> v;
  for (size_t i = 0; i < l.pcs.size(); i++) v.push_back(l.pcs[i]);
  return v;
}

// 8-aligned copy of an image.
struct Aligned {
  explicit Aligned(const std::vector<uint8_t>& img) : words((img.size() + 7) / 8) {
    if (!img.empty()) std::memcpy(words.data(), img.data(), img.size());
    bytes = Bytes(reinterpret_cast<const uint8_t*>(words.data()), img.size());
  }
  std::vector<uint64_t> words;
  Bytes bytes;
};

}  // namespace

TEST_CASE("index image round trip", "[index]") {
  auto img = sample_image();
  Aligned a(img);
  IndexView v = IndexView::open(a.bytes, IndexView::Verify::kFull);
  REQUIRE(v.n_files() == 3);
  auto a_go = v.file_id("/src/a.go");
  REQUIRE(a_go);
  CHECK(pcs_of(v.find_file_location(*a_go, 3)) == std::vector<uint64_t>{0x1004});
  CHECK(pcs_of(v.find_file_location(*a_go, 5)) == std::vector<uint64_t>{0x1010, 0x1120});
  CHECK(pcs_of(v.find_file_location(*a_go, 70)) == std::vector<uint64_t>{0x1130});
  CHECK(v.find_file_location(*a_go, 200).status == LookupStatus::kNoAddresses);
  CHECK(v.find_file_location(*a_go, 4).status == LookupStatus::kNoStatement);
  CHECK(v.find_file_location(*a_go, 0).status == LookupStatus::kNoStatement);
  CHECK(v.find_file_location(*a_go, 100000).status == LookupStatus::kNoStatement);
  auto c_go = v.file_id("/src/c.go");
  REQUIRE(c_go);
  CHECK(v.find_file_location(*c_go, 1).status == LookupStatus::kNoStatement);
  CHECK_FALSE(v.file_id("/src/d.go"));
  CHECK(v.error_text(v.find_file_location(*a_go, 4), "/src/a.go", 4) ==
        "could not find statement at /src/a.go:4, please use a line with a statement");
  CHECK(v.lines_with_code(*a_go, 1, 1000) == std::vector<uint32_t>{3, 5, 70, 200});
  CHECK(v.lines_with_code(*a_go, 4, 69) == std::vector<uint32_t>{5});
  CHECK(v.function_name(*v.function_at(0x1120)) == "main.b");
  CHECK(v.function_decl_line(*v.function_at(0x1000)) == 1);
  CHECK_FALSE(v.function_at(0x1200));
  CHECK_FALSE(v.function_at(0x10));
}

TEST_CASE("file matching: exact, unique suffix, ambiguous", "[index]") {
  auto img = sample_image();
  Aligned a(img);
  IndexView v = IndexView::open(a.bytes, IndexView::Verify::kFull);
  CHECK(v.match_file("/src/a.go").kind == FileMatch::kExact);
  CHECK(v.match_file("c.go").kind == FileMatch::kSuffix);
  CHECK(v.match_file("b/a.go").kind == FileMatch::kSuffix);
  CHECK(v.match_file("a.go").kind == FileMatch::kAmbiguous);
  CHECK(v.match_file("rc/c.go").kind == FileMatch::kNone);  // not at a path boundary
}

TEST_CASE("the image does not depend on anything but its input", "[index]") {
  CHECK(sample_image() == sample_image());
}

TEST_CASE("corrupt images are refused", "[index]") {
  auto img = sample_image();
  SECTION("every single-byte flip in the body fails the checksum") {
    std::mt19937 rng(7);
    for (int i = 0; i < 200; i++) {
      auto bad = img;
      size_t at = sizeof(IndexHeader) + rng() % (bad.size() - sizeof(IndexHeader));
      bad[at] ^= uint8_t(1 + rng() % 255);
      Aligned a(bad);
      CHECK_THROWS_WITH(IndexView::open(a.bytes, IndexView::Verify::kFull),
                        ContainsSubstring("checksum"));
    }
  }
  SECTION("truncated") {
    for (size_t n : {size_t(0), size_t(10), sizeof(IndexHeader), img.size() - 8}) {
      std::vector<uint8_t> bad(img.begin(), img.begin() + n);
      Aligned a(bad);
      CHECK_THROWS_AS(IndexView::open(a.bytes, IndexView::Verify::kLayout), Error);
    }
  }
  SECTION("another format version") {
    auto bad = img;
    reinterpret_cast<IndexHeader*>(bad.data())->format_version = 1;
    Aligned a(bad);
    CHECK_THROWS_WITH(IndexView::open(a.bytes, IndexView::Verify::kLayout),
                      ContainsSubstring("format version 1"));
  }
  SECTION("a table pointing outside the image") {
    auto bad = img;
    reinterpret_cast<IndexHeader*>(bad.data())->words.offset = 1 << 30;
    Aligned a(bad);
    CHECK_THROWS_WITH(IndexView::open(a.bytes, IndexView::Verify::kLayout),
                      ContainsSubstring("table words"));
  }
}

TEST_CASE("store: shared memory, cache file, stale and corrupt copies", "[store]") {
  auto dir =
      std::filesystem::temp_directory_path() / ("dlvidx-store-test-" + std::to_string(getpid()));
  IndexStore store(dir.string());
  const uint64_t key = 0xd1e5700000000000ull | getpid();
  BinaryIdentity id = sample_id(key);
  auto img = sample_image(key);
  store.remove(key);
  CHECK_FALSE(store.open(id));

  IndexHandle h = store.publish(img, id);
  CHECK(h.source() == IndexSource::kSharedMemory);
  struct stat st {};
  REQUIRE(stat(store.cache_path(key).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(shm_mode(store.shm_name(key)) == 0600);

  auto again = store.open(id);
  REQUIRE(again);
  CHECK(again->source() == IndexSource::kSharedMemory);

  SECTION("a binary with another identity does not get this index") {
    BinaryIdentity other = id;
    other.dwarf_hash = 100;  // same key (say, a collision), other content
    std::vector<std::string> notes;
    CHECK_FALSE(store.open(other, &notes));
    REQUIRE_FALSE(notes.empty());
    CHECK_THAT(notes[0], ContainsSubstring("another binary"));
  }
  SECTION("without shared memory the cache file is used and republished") {
    shm_unlink(("/" + store.shm_name(key)).c_str());
    auto h2 = store.open(id);
    REQUIRE(h2);
    CHECK(h2->source() == IndexSource::kSharedMemory);  // republished from the file
  }
  SECTION("a corrupt cache file is removed, not trusted") {
    shm_unlink(("/" + store.shm_name(key)).c_str());
    {
      std::fstream f(store.cache_path(key), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(img.size() - 3));
      f.put('\x5a');
    }
    std::vector<std::string> notes;
    CHECK_FALSE(store.open(id, &notes));
    REQUIRE_FALSE(notes.empty());
    CHECK_THAT(notes[0], ContainsSubstring("checksum"));
    CHECK_FALSE(std::filesystem::exists(store.cache_path(key)));
  }
  SECTION("a cache file readable by others is not trusted") {
    shm_unlink(("/" + store.shm_name(key)).c_str());
    chmod(store.cache_path(key).c_str(), 0644);
    std::vector<std::string> notes;
    CHECK_FALSE(store.open(id, &notes));
    REQUIRE_FALSE(notes.empty());
    CHECK_THAT(notes[0], ContainsSubstring("not private"));
  }
  store.remove(key);
  std::filesystem::remove_all(dir);
}

TEST_CASE("line table queries follow Delve's state machine", "[line]") {
  LineTable lt;
  auto row = [](uint64_t pc, uint32_t line, uint8_t flags) {
    LineRow r;
    r.pc = pc;
    r.line = line;
    r.file = 0;
    r.flags = flags;
    return r;
  };
  lt.files = {"/a.go"};
  lt.rows = {row(0x100, 10, kStmt), row(0x104, 10, 0), row(0x110, 11, kStmt | kPrologueEnd),
             row(0x120, 12, kStmt), row(0x130, 13, 0), row(0x140, 13, kEndSequence)};
  LineTableQuery q(lt);
  CHECK(q.position(0x100) == 0);
  CHECK(q.position(0x108) == 2);  // first row past it whose predecessor is at or before it
  CHECK(q.position(0x50) == LineTableQuery::npos);  // before the sequence: never accepted
  CHECK(q.pc_to_line(0x100, 0x108) == 10);
  CHECK(q.pc_to_line(0x100, 0x120) == 12);
  CHECK(q.prologue_end_pc(0x100, 0x140)->pc == 0x110);
  CHECK_FALSE(q.prologue_end_pc(0x100, 0x110));
  CHECK(q.first_stmt(0x104, 0x140)->pc == 0x110);
  CHECK(q.first_stmt(0x100, 0x140)->pc == 0x100);
}

TEST_CASE("shared memory names fit macOS's 31 bytes for every uid and key, one to one", "[store]") {
  std::set<std::string> names;
  std::mt19937_64 rng(13);
  std::vector<uint64_t> keys = {0, 1, 35, 36, 0xffffffffffffffffull, 0x8000000000000000ull};
  for (int i = 0; i < 200; i++) keys.push_back(rng());
  // root, the first Linux and macOS users, nobody (-2 on macOS), a directory-managed Mac's
  // 10-digit uid, the largest uid_t.
  for (uid_t uid : {0u, 501u, 1000u, 65534u, 4294967294u, 1896522107u, 4294967295u})
    for (uint64_t key : keys) {
      std::string n = shm_name(uid, key);
      INFO(n);
      // shm_open is given "/" + name; PSHMNAMLEN is 31 with it.
      CHECK(n.size() + 1 <= 31);
      CHECK(n.size() <= kShmNameMax);
      CHECK(n.rfind("dlvidx-", 0) == 0);
      CHECK(n.find_first_not_of("dlvidx-0123456789abcdefghijklmnopqrstuvwxyz") ==
            std::string::npos);
      CHECK(names.insert(n).second);  // no two (uid, key) share a name
    }
  CHECK(shm_name(4294967295u, 0xffffffffffffffffull) == "dlvidx-1z141z3-3w5e11264sgsf");
  CHECK(shm_name(0, 0) == "dlvidx-0-0");
}

TEST_CASE("store: a shared memory object that is not ours and private is not trusted", "[store]") {
  auto dir =
      std::filesystem::temp_directory_path() / ("dlvidx-shm-test-" + std::to_string(getpid()));
  IndexStore store(dir.string());
  const uint64_t key = 0x5a3e700000000000ull | getpid();
  BinaryIdentity id = sample_id(key);
  auto img = sample_image(key);
  store.remove(key);
  const std::string slash_name = "/" + store.shm_name(key);
  // A complete, valid index under our name, planted with the given mode
  // (and owner, as root).
  auto plant = [&](mode_t mode, std::optional<uid_t> owner) {
    shm_unlink(slash_name.c_str());
    int fd = shm_open(slash_name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, static_cast<off_t>(img.size())) == 0);
    void* p = mmap(nullptr, img.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE(p != MAP_FAILED);
    std::memcpy(p, img.data(), img.size());
    reinterpret_cast<IndexHeader*>(p)->ready = 1;
    munmap(p, img.size());
    REQUIRE(fchmod(fd, mode) == 0);
    if (owner) REQUIRE(fchown(fd, *owner, static_cast<gid_t>(-1)) == 0);
    close(fd);
  };
  SECTION("ours and 0600: trusted") {
    plant(0600, std::nullopt);
    auto h = store.open(id);
    REQUIRE(h);
    CHECK(h->source() == IndexSource::kSharedMemory);
  }
  SECTION("readable by others: ignored, and left as it is") {
    plant(0644, std::nullopt);
    std::vector<std::string> notes;
    auto h = store.open(id, &notes);
    REQUIRE_FALSE(notes.empty());
    CHECK_THAT(notes[0], ContainsSubstring("not private"));
    CHECK(shm_mode(store.shm_name(key)) == 0644);
  }
  SECTION("another user's (as root only)") {
    if (geteuid() != 0) SKIP("needs root to give an object to another user");
    plant(0600, 65534);
    std::vector<std::string> notes;
    auto h = store.open(id, &notes);
    REQUIRE_FALSE(notes.empty());
    CHECK_THAT(notes[0], ContainsSubstring("owned by another user"));
    CHECK(shm_mode(store.shm_name(key)) == 0600);  // not removed: not ours to remove
  }
  shm_unlink(slash_name.c_str());
  store.remove(key);
  std::filesystem::remove_all(dir);
}
