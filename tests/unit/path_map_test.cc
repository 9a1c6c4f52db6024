// Mapping an editor's path to a file of the index: substitutePath, exact,
// symlinks, unique suffix (trimpath builds), case-insensitive; ambiguity maps
// nowhere (dlv then gets the request unchanged).
#include "dap-shim/path_map.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "index/index_builder.h"

using namespace dlvidx;
using namespace dlvidx::index;
using dlvidx::dap::map_client_path;

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
  auto map = [&](const std::string& p, std::vector<dap::SubstitutePath> rules = {}) {
    auto m = map_client_path(v, p, rules);
    return m.file ? std::string(v.file_path(*m.file)) + " (" + m.how + ")" : "none (" + m.how + ")";
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
