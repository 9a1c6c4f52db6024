#include "index/source_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <unordered_set>

#include "index/go_module.h"

namespace dlvidx::index {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

PathMapping found(uint32_t file, std::string rule, std::string detail = {}) {
  return {file, std::move(rule), std::move(detail), {}};
}

PathMapping several(std::string rule, std::vector<uint32_t> files) {
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  if (files.size() == 1) return found(files[0], std::move(rule));
  PathMapping m;
  m.detail = fmt::format("{}: {} files match", rule, files.size());
  m.candidates = std::move(files);
  return m;
}

// The module cache's "<module>@<version>/<rel>" (absolute below GOMODCACHE, or bare with
// -trimpath): does `p` name `rel` of module `mod` (either spelling) at some version?
bool cache_form(std::string_view p, const std::string& mod, const std::string& esc,
                const std::string& rel) {
  if (p.size() <= rel.size() + 1 || !p.ends_with(rel) || p[p.size() - rel.size() - 1] != '/')
    return false;
  std::string_view head = p.substr(0, p.size() - rel.size() - 1);  // ".../example.com/!dep@v1.2.3"
  size_t at = head.rfind('@');
  if (at == std::string_view::npos || head.find('/', at) != std::string_view::npos) return false;
  head = head.substr(0, at);
  for (const std::string* m : {&esc, &mod})
    if (head == *m ||
        (head.size() > m->size() && head.ends_with(*m) && head[head.size() - m->size() - 1] == '/'))
      return true;
  return false;
}

bool has_version_component(std::string_view p) {
  size_t at = p.find('@');
  return at != std::string_view::npos;
}

}  // namespace

const PathMapping& SourceMap::map(const std::string& client_path) {
  auto it = cache_.find(client_path);
  if (it != cache_.end()) return it->second;
  PathMapping m = compute(client_path);
  if (m.file) client_of_.try_emplace(*m.file, client_path);
  return cache_.emplace(client_path, std::move(m)).first->second;
}

PathMapping SourceMap::compute(const std::string& client_path) {
  // substitutePath: the first rule whose "from" prefixes the path (dlv's order).
  for (const auto& r : rules_) {
    if (r.from.empty() || client_path.compare(0, r.from.size(), r.from) != 0) continue;
    std::string p = r.to + client_path.substr(r.from.size());
    if (auto id = v_.file_id(p)) return found(*id, "substitutePath", r.from + " -> " + r.to);
    break;
  }
  if (auto id = v_.file_id(client_path)) return found(*id, "exact");
  std::error_code ec;
  fs::path real = fs::canonical(client_path, ec);
  if (!ec && real.string() != client_path)
    if (auto id = v_.file_id(real.string())) return found(*id, "symlink", real.string());

  PathMapping first_ambiguous;  // the first rule that matched several files
  std::optional<PathMapping> hit;
  auto answered = [&](PathMapping m) {
    if (m.file) return hit = std::move(m), true;
    if (first_ambiguous.candidates.empty()) first_ambiguous = std::move(m);
    return false;
  };
  // The go.mod above the file, read once for both module rules.
  if (auto mf = module_of(client_path))
    if (answered(by_module(*mf)) || answered(by_module_root(*mf))) return *hit;
  if (answered(by_suffix(client_path)) || answered(by_case(client_path))) return *hit;
  if (!first_ambiguous.candidates.empty()) return first_ambiguous;
  PathMapping none;
  none.detail = "no file of the binary matches";
  return none;
}

bool SourceMap::in_goroot(std::string_view p) const {
  if (!goroots_) {
    goroots_.emplace();
    constexpr std::string_view kProbe = "/src/runtime/proc.go";
    for (uint32_t f = 0; f < v_.n_files(); f++) {
      std::string_view q = v_.file_path(f);
      if (q.ends_with(kProbe)) goroots_->emplace_back(q.substr(0, q.size() - kProbe.size()));
    }
  }
  for (const std::string& g : *goroots_)
    if (p.size() > g.size() + 5 && p.starts_with(g) && p.substr(g.size(), 5) == "/src/")
      return true;
  return false;
}

// The module the file belongs to, by its nearest go.mod, and that module's file in the binary.
PathMapping SourceMap::by_module(const ModuleFile& mf) {
  std::string mod = mf.module, rel = mf.rel;
  const bool std_or_cmd = mod == "std" || mod == "cmd";
  bool vendored = false;
  if (!std_or_cmd && rel.starts_with("vendor/")) {
    rel.erase(0, 7);
    vendored = true;
    for (const std::string& vm : vendored_modules(mf.dir))
      if (rel.size() > vm.size() && rel.starts_with(vm) && rel[vm.size()] == '/') {
        mod = vm;
        rel.erase(0, vm.size() + 1);
        vendored = false;  // split into module and path: every form applies
        break;
      }
  }
  std::map<std::string, std::vector<uint32_t>> by_form;
  const std::string esc = escape_module_path(mod);
  const std::string trimmed = mod + "/" + rel;
  const std::string in_vendor = "vendor/" + (vendored ? rel : trimmed);
  const std::string goroot_rel = mod == "cmd" ? "cmd/" + rel : rel;
  for (uint32_t f = 0; f < v_.n_files(); f++) {
    std::string_view p = v_.file_path(f);
    if (std_or_cmd) {
      if (p == goroot_rel || (p.ends_with("/src/" + goroot_rel) && in_goroot(p)))
        by_form["GOROOT"].push_back(f);
      continue;
    }
    if (p == in_vendor || (p.ends_with(in_vendor) && p[p.size() - in_vendor.size() - 1] == '/'))
      by_form["vendor"].push_back(f);
    if (vendored) continue;
    if (p == trimmed) by_form["module path (trimpath)"].push_back(f);
    if (cache_form(p, mod, esc, rel)) by_form["module cache"].push_back(f);
  }
  std::vector<uint32_t> all;
  for (auto& [form, files] : by_form) all.insert(all.end(), files.begin(), files.end());
  PathMapping m = several("module " + mod, all);
  if (m.file)
    for (auto& [form, files] : by_form)
      if (std::find(files.begin(), files.end(), *m.file) != files.end()) {
        m.rule = form;
        m.detail = fmt::format("module {}, file {}", mod, rel);
      }
  return m;
}

PathMapping SourceMap::by_module_root(const ModuleFile& mf) {
  if (mf.module == "std" || mf.module == "cmd") return {};
  std::string detail;
  auto root = module_root(mf.dir, &detail);
  if (!root) return {};
  std::string p = root->empty() ? mf.rel : *root + "/" + mf.rel;
  if (auto id = v_.file_id(p)) return found(*id, "module root", detail);
  return {};
}

std::optional<std::string> SourceMap::module_root(const std::string& dir, std::string* detail) {
  auto it = roots_.find(dir);
  if (it == roots_.end()) {
    Root r;
    // The workspace's .go files, by path below dir (nested modules and hidden dirs left out).
    std::unordered_set<std::string> rels;
    std::error_code ec;
    fs::recursive_directory_iterator walk(dir, fs::directory_options::skip_permission_denied, ec);
    size_t steps = 0;
    for (;
         !ec && walk != fs::recursive_directory_iterator() && steps < 200000 && rels.size() < 20000;
         walk.increment(ec), steps++) {
      const fs::path& p = walk->path();
      std::string name = p.filename().string();
      if (walk->is_directory(ec)) {
        if (name.starts_with(".") || name.starts_with("_") || name == "testdata" ||
            fs::exists(p / "go.mod", ec))
          walk.disable_recursion_pending();
      } else if (name.ends_with(".go")) {
        rels.insert(p.lexically_relative(dir).generic_string());
      }
    }
    std::map<std::string, size_t> votes;
    for (uint32_t f = 0; f < v_.n_files(); f++) {
      std::string_view p = v_.file_path(f);
      if (has_version_component(p) || in_goroot(p)) continue;  // another module's file
      if (!p.starts_with("/") && rels.count(std::string(p))) votes[""]++;
      for (size_t i = 0; i < p.size(); i++)
        if (p[i] == '/' && i > 0 && rels.count(std::string(p.substr(i + 1))))
          votes[std::string(p.substr(0, i))]++;
    }
    size_t best = 0, second = 0;
    for (auto& [root, n] : votes) {
      if (n > best) {
        second = best, best = n, r.root = root;
      } else if (n > second) {
        second = n;
      }
    }
    if (best == 0 || best == second) {
      r.root.reset();
      r.detail = best ? fmt::format("{} roots in the binary match {} of the workspace's files each",
                                    votes.size(), best)
                      : "no file of the workspace is in the binary";
    } else {
      r.detail =
          fmt::format("{} is {} in the binary ({} of its {} .go files found there)", dir,
                      r.root->empty() ? "\"\" (relative names)" : *r.root, best, rels.size());
    }
    it = roots_.emplace(dir, std::move(r)).first;
  }
  if (detail) *detail = it->second.detail;
  return it->second.root;
}

// Suffix candidates over every path component boundary, longest first: "/home/u/w/pkg/f.go"
// tries "home/u/w/pkg/f.go", "u/w/pkg/f.go", ... (a bare base name is too weak).
PathMapping SourceMap::by_suffix(const std::string& path) const {
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] != '/') continue;
    std::string_view tail(path.c_str() + i + 1);
    if (tail.find('/') == std::string_view::npos) break;
    FileMatch m = v_.match_file(tail);
    if (m.kind == FileMatch::kExact || m.kind == FileMatch::kSuffix)
      return found(*m.file, "suffix", std::string(tail));
    if (m.kind == FileMatch::kAmbiguous)
      return several("suffix " + std::string(tail), m.candidates);
  }
  return {};
}

// Case-insensitive (macOS, Windows checkouts): the whole path or a suffix of it, unique only.
PathMapping SourceMap::by_case(const std::string& client_path) const {
  std::string want = lower(client_path);
  std::vector<uint32_t> hits;
  for (uint32_t f = 0; f < v_.n_files(); f++) {
    std::string p = lower(v_.file_path(f));
    if (p == want || (want.size() > p.size() && want.ends_with(p) &&
                      want[want.size() - p.size() - 1] == '/' && p.find('/') != std::string::npos))
      hits.push_back(f);
  }
  if (hits.empty()) return {};
  PathMapping m = several("case-insensitive", hits);
  if (m.file) m.rule = "case-insensitive";
  return m;
}

std::optional<std::string> SourceMap::client_path_of(uint32_t file) const {
  if (auto it = client_of_.find(file); it != client_of_.end()) return it->second;
  std::string_view p = v_.file_path(file);
  std::error_code ec;
  for (const auto& [dir, r] : roots_) {
    if (!r.root) continue;
    std::string local;
    if (r.root->empty() && !p.starts_with("/"))
      local = dir + "/" + std::string(p);
    else if (!r.root->empty() && p.size() > r.root->size() && p.starts_with(*r.root) &&
             p[r.root->size()] == '/')
      local = dir + std::string(p.substr(r.root->size()));
    if (!local.empty() && fs::is_regular_file(local, ec)) return local;
  }
  return std::nullopt;
}

}  // namespace dlvidx::index
