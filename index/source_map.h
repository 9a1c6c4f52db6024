// Maps the path an editor sends (Source.path) to one file of the binary's file table, by the first
// rule that gives a unique answer: the launch's substitutePath rules; the exact string; symlinks
// resolved; the module the file belongs to (the nearest go.mod: -trimpath names, the module cache,
// vendor/, GOROOT); the workspace module's root in the binary (container and Bazel builds); a
// unique path suffix; the same ignoring case. Two files at one rule: that rule gives no answer
// (never a guess), and the mapping remembers which files they were.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/go_module.h"
#include "index/lookup.h"

namespace dlvidx::index {

struct PathRule {  // substitutePath: client prefix -> the binary's prefix
  std::string from, to;
};

struct PathMapping {
  std::optional<uint32_t> file;
  std::string rule;    // the rule that mapped it ("" when none did)
  std::string detail;  // how, for people ("module example.com/m, in the module cache")
  std::vector<uint32_t> candidates;  // the files an ambiguous rule matched
};

class SourceMap {
 public:
  SourceMap(const IndexView& v, std::vector<PathRule> rules) : v_(v), rules_(std::move(rules)) {}
  // Cached per path.
  const PathMapping& map(const std::string& client_path);
  // The client's path of a file of the binary: the one mapped to it, or the same place below a
  // workspace whose root was found in the binary; nullopt if neither.
  std::optional<std::string> client_path_of(uint32_t file) const;
  // The binary's root of a workspace module directory, found by matching its .go files against the
  // file table (e.g. "/app" for a container build, "" for execroot-relative names); nullopt if no
  // root is unique. `detail` says how many files agreed.
  std::optional<std::string> module_root(const std::string& module_dir, std::string* detail);

 private:
  PathMapping compute(const std::string& client_path);
  PathMapping by_module(const ModuleFile& mf);
  PathMapping by_module_root(const ModuleFile& mf);
  PathMapping by_suffix(const std::string& client_path) const;
  PathMapping by_case(const std::string& client_path) const;
  bool in_goroot(std::string_view recorded) const;

  const IndexView& v_;
  std::vector<PathRule> rules_;
  std::map<std::string, PathMapping> cache_;
  std::unordered_map<uint32_t, std::string> client_of_;
  struct Root {
    std::optional<std::string> root;
    std::string detail;
  };
  std::map<std::string, Root> roots_;  // workspace module dir -> its root in the binary
  mutable std::optional<std::vector<std::string>> goroots_;
};

}  // namespace dlvidx::index
