// Mapping an editor's path to a file of the index (index/source_map.h): substitutePath, exact,
// symlinks, the module (trimpath, module cache, vendor, GOROOT), the module root, unique suffix,
// case-insensitive; ambiguity maps nowhere and names the files that matched. Real files on disk
// for the go.mod / modules.txt / workspace walks; the layouts against real Go builds and dlv are
// tests/paths.
#include "index/source_map.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "index/index_builder.h"

using namespace dlvidx;
using namespace dlvidx::index;

namespace {

struct Fixture {
  explicit Fixture(std::vector<std::string> files) {
    FileLineTable t;
    t.files = std::move(files);
    std::sort(t.files.begin(), t.files.end());
    t.functions = {{0x1000, 0x2000, "f", 0}};
    t.pcs = {0x1000};
    for (uint32_t f = 0; f < t.files.size(); f++) t.keys.push_back({f, 1, 0, 1});
    BinaryIdentity id;
    ObjectFile obj;
    auto img = build_index_image(t, id, obj, {});
    words.resize((img.size() + 7) / 8);
    std::memcpy(words.data(), img.data(), img.size());
    view = IndexView::open(Bytes(reinterpret_cast<const uint8_t*>(words.data()), img.size()),
                           IndexView::Verify::kFull);
  }
  std::vector<uint64_t> words;
  IndexView view;
};

}  // namespace

TEST_CASE("client paths map to index files in the documented order", "[path]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("dlvidx-pathmap-" + std::to_string(getpid()));
  fs::create_directories(dir / "real");
  std::ofstream(dir / "real" / "main.go") << "package main\n";
  fs::create_symlink(dir / "real", dir / "link");
  std::string real = fs::canonical(dir / "real" / "main.go").string();
  fs::create_directories(dir / "mod" / "sub");
  std::ofstream(dir / "mod" / "go.mod")
      << "// comment\nmodule \"example.com/other-name\"\n\ngo 1.22\n";
  std::ofstream(dir / "mod" / "sub" / "s.go") << "package sub\n";

  Fixture fx({real, "example.com/other-name/sub/s.go", "example.com/mod/pkg/f.go",
              "example.com/mod/other/f.go", "/Users/Me/Proj/x.go", "/build/server/util.go"});
  const IndexView& v = fx.view;
  auto map = [&](const std::string& p, std::vector<PathRule> rules = {}) {
    SourceMap sm(v, std::move(rules));
    const PathMapping& m = sm.map(p);
    return m.file ? std::string(v.file_path(*m.file)) + " (" + m.rule + ")"
                  : "none (" + m.detail + ")";
  };
  CHECK(map(real) == real + " (exact)");
  CHECK(map((dir / "link" / "main.go").string()) == real + " (symlink)");
  CHECK(map("/home/u/src/example.com/mod/pkg/f.go") == "example.com/mod/pkg/f.go (suffix)");
  CHECK(map("/home/u/src/mod/pkg/f.go") == "example.com/mod/pkg/f.go (suffix)");
  CHECK(map("/home/u/f.go").starts_with("none"));  // "u/f.go"... and a bare basename are too weak
  CHECK(map("/users/me/proj/x.go") == "/Users/Me/Proj/x.go (case-insensitive)");
  CHECK(map("/home/me/checkout/util.go", {{"/home/me/checkout", "/build/server"}}) ==
        "/build/server/util.go (substitutePath)");
  CHECK(map("/nowhere/at/all.go").starts_with("none"));
  // -trimpath: the module path from go.mod, whatever the directory is called.
  CHECK(map((dir / "mod" / "sub" / "s.go").string()) ==
        "example.com/other-name/sub/s.go (module path (trimpath))");
  fs::remove_all(dir);
}

namespace {
void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}
}  // namespace

TEST_CASE("the module a client file belongs to maps it to the binary's copy", "[path]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("dlvidx-modmap-" + std::to_string(getpid()));
  fs::remove_all(dir);
  // A checkout of example.com/Dep, a workspace of example.com/app with a vendor/ tree, a GOROOT.
  write(dir / "dep" / "go.mod", "module example.com/Dep\n");
  write(dir / "dep" / "internal" / "log" / "log.go", "package log\n");
  write(dir / "ws" / "go.mod", "module example.com/app\n");
  write(dir / "ws" / "main.go", "package main\n");
  write(dir / "ws" / "internal" / "log" / "log.go", "package log\n");
  write(dir / "ws" / "vendor" / "modules.txt", "# example.com/Dep v1.2.3\n## explicit\n");
  write(dir / "ws" / "vendor" / "example.com" / "Dep" / "internal" / "log" / "log.go", "");
  write(dir / "goroot" / "src" / "go.mod", "module std\n");
  write(dir / "goroot" / "src" / "strings" / "builder.go", "package strings\n");

  SECTION("module cache, escaped, against a checkout; vendor; GOROOT; module root") {
    Fixture fx({"/go/pkg/mod/example.com/!dep@v1.2.3/internal/log/log.go", "/app/main.go",
                "/app/internal/log/log.go", "/usr/lib/go-1.27/src/strings/builder.go",
                "/usr/lib/go-1.27/src/runtime/proc.go"});
    const IndexView& v = fx.view;
    SourceMap sm(v, {});
    auto rule = [&](const fs::path& p) {
      const PathMapping& m = sm.map(p.string());
      return m.file ? std::string(v.file_path(*m.file)) + " (" + m.rule + ")" : "none";
    };
    CHECK(rule(dir / "dep" / "internal" / "log" / "log.go") ==
          "/go/pkg/mod/example.com/!dep@v1.2.3/internal/log/log.go (module cache)");
    CHECK(rule(dir / "ws" / "vendor" / "example.com" / "Dep" / "internal" / "log" / "log.go") ==
          "/go/pkg/mod/example.com/!dep@v1.2.3/internal/log/log.go (module cache)");
    CHECK(rule(dir / "goroot" / "src" / "strings" / "builder.go") ==
          "/usr/lib/go-1.27/src/strings/builder.go (GOROOT)");
    // internal/log/log.go is in two modules: only the workspace's root in the binary decides.
    CHECK(rule(dir / "ws" / "internal" / "log" / "log.go") ==
          "/app/internal/log/log.go (module root)");
    std::string detail;
    CHECK(sm.module_root((dir / "ws").string(), &detail) == std::optional<std::string>("/app"));
    // Frames of the binary's files are named by the client's paths.
    CHECK(sm.client_path_of(*v.file_id("/app/main.go")) == (dir / "ws" / "main.go").string());
  }
  SECTION("-trimpath names") {
    Fixture fx({"example.com/Dep@v1.2.3/internal/log/log.go", "example.com/app/main.go",
                "strings/builder.go", "runtime/proc.go"});
    const IndexView& v = fx.view;
    SourceMap sm(v, {});
    auto rule = [&](const fs::path& p) {
      const PathMapping& m = sm.map(p.string());
      return m.file ? std::string(v.file_path(*m.file)) + " (" + m.rule + ")" : "none: " + m.detail;
    };
    CHECK(rule(dir / "goroot" / "src" / "strings" / "builder.go") == "strings/builder.go (GOROOT)");
    CHECK(rule(dir / "ws" / "main.go") == "example.com/app/main.go (module path (trimpath))");
    CHECK(rule(dir / "dep" / "internal" / "log" / "log.go") ==
          "example.com/Dep@v1.2.3/internal/log/log.go (module cache)");
  }
  SECTION("GOROOT_FINAL-style names: $GOROOT/src/...") {
    Fixture fx({"$GOROOT/src/strings/builder.go", "$GOROOT/src/runtime/proc.go", "/w/main.go"});
    SourceMap sm(fx.view, {});
    const PathMapping& m = sm.map((dir / "goroot" / "src" / "strings" / "builder.go").string());
    REQUIRE(m.file);
    CHECK(fx.view.file_path(*m.file) == "$GOROOT/src/strings/builder.go");
    CHECK(m.rule == "GOROOT");
  }
  SECTION("two copies of one module file: no rule picks one") {
    Fixture fx({"/a/vendor/example.com/Dep/internal/log/log.go",
                "/b/vendor/example.com/Dep/internal/log/log.go", "/a/main.go"});
    SourceMap sm(fx.view, {});
    const PathMapping& m = sm.map((dir / "dep" / "internal" / "log" / "log.go").string());
    CHECK(!m.file);
    CHECK(m.candidates.size() == 2);
    CHECK(m.detail.find("2 files match") != std::string::npos);
  }
  fs::remove_all(dir);
}
