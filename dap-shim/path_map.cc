#include "dap-shim/path_map.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

namespace dlvidx::dap {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Suffix candidates over every path component boundary, longest first:
// "/home/u/w/mod/pkg/f.go" tries "home/u/w/mod/pkg/f.go", "u/w/mod/pkg/f.go", ...
PathMapping by_suffix(const index::IndexView& v, const std::string& path) {
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] != '/') continue;
    std::string_view tail(path.c_str() + i + 1);
    if (tail.find('/') == std::string_view::npos) break;  // a bare basename is too weak
    index::FileMatch m = v.match_file(tail);
    if (m.kind == index::FileMatch::kExact || m.kind == index::FileMatch::kSuffix)
      return {m.file, "suffix"};
    if (m.kind == index::FileMatch::kAmbiguous)
      return {std::nullopt, "ambiguous suffix " + std::string(tail)};
  }
  return {std::nullopt, "no match"};
}

// -trimpath records a main-module file as "<module path>/<path in module>":
// find the go.mod above the client's file and build that name.
std::optional<std::string> trimpath_name(const std::string& client_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path file(client_path);
  for (fs::path dir = file.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    fs::path mod = dir / "go.mod";
    if (fs::is_regular_file(mod, ec)) {
      std::ifstream in(mod);
      for (std::string line; std::getline(in, line);) {
        size_t b = line.find_first_not_of(" \t");
        if (b == std::string::npos || line.compare(b, 7, "module ") != 0) continue;
        std::string m = line.substr(b + 7);
        m.erase(0, m.find_first_not_of(" \t\""));
        m.erase(m.find_last_not_of(" \t\"\r") + 1);
        if (m.empty()) return std::nullopt;
        return m + "/" + fs::relative(file, dir, ec).generic_string();
      }
      return std::nullopt;
    }
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

}  // namespace

PathMapping map_client_path(const index::IndexView& v, const std::string& client_path,
                            const std::vector<SubstitutePath>& rules) {
  // substitutePath: the first rule whose "from" prefixes the path (dlv's order).
  for (const auto& r : rules) {
    if (r.from.empty() || client_path.compare(0, r.from.size(), r.from) != 0) continue;
    std::string p = r.to + client_path.substr(r.from.size());
    if (auto id = v.file_id(p)) return {id, "substitutePath"};
    break;
  }
  if (auto id = v.file_id(client_path)) return {id, "exact"};
  std::error_code ec;
  std::filesystem::path real = std::filesystem::canonical(client_path, ec);
  if (!ec && real.string() != client_path)
    if (auto id = v.file_id(real.string())) return {id, "symlink"};
  if (auto name = trimpath_name(client_path))
    if (auto id = v.file_id(*name)) return {id, "module path (trimpath)"};
  PathMapping s = by_suffix(v, client_path);
  if (s.file || s.how.starts_with("ambiguous")) return s;
  // Case-insensitive (macOS, Windows checkouts): unique match only.
  std::string want = lower(client_path);
  std::optional<uint32_t> found;
  for (uint32_t f = 0; f < v.n_files(); f++) {
    std::string p = lower(std::string(v.file_path(f)));
    if (p == want ||
        (want.size() > p.size() && want.ends_with(p) && want[want.size() - p.size() - 1] == '/' &&
         p.find('/') != std::string::npos)) {
      if (found) return {std::nullopt, "ambiguous case-insensitive match"};
      found = f;
    }
  }
  if (found) return {found, "case-insensitive"};
  return {std::nullopt, "no file of the binary matches"};
}

}  // namespace dlvidx::dap
