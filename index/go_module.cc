#include "index/go_module.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace dlvidx::index {
namespace fs = std::filesystem;

namespace {

// The module path of a go.mod: the `module` directive, quoted or not, comments ignored.
std::optional<std::string> module_directive(const fs::path& gomod) {
  std::ifstream in(gomod);
  for (std::string line; std::getline(in, line);) {
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line.compare(b, 7, "module ") != 0) continue;
    std::string m = line.substr(b + 7);
    if (size_t c = m.find("//"); c != std::string::npos) m.resize(c);
    m.erase(0, m.find_first_not_of(" \t\""));
    m.erase(m.find_last_not_of(" \t\"\r") + 1);
    if (m.empty()) return std::nullopt;
    return m;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ModuleFile> module_of(const std::string& path) {
  std::error_code ec;
  fs::path file = fs::path(path).lexically_normal();
  if (!file.is_absolute()) return std::nullopt;
  for (fs::path dir = file.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    fs::path gomod = dir / "go.mod";
    if (fs::is_regular_file(gomod, ec)) {
      auto m = module_directive(gomod);
      if (!m) return std::nullopt;
      return ModuleFile{dir.string(), *m, file.lexically_relative(dir).generic_string()};
    }
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

std::vector<std::string> vendored_modules(const std::string& module_dir) {
  std::vector<std::string> out;
  std::ifstream in(fs::path(module_dir) / "vendor" / "modules.txt");
  for (std::string line; std::getline(in, line);) {
    // "# example.com/m v1.2.3" (and "# example.com/m v1.2.3 => ../m" for replaced ones)
    if (line.size() < 3 || line.compare(0, 2, "# ") != 0) continue;
    std::string m = line.substr(2, line.find(' ', 2) - 2);
    if (!m.empty()) out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
  return out;
}

std::string escape_module_path(const std::string& module) {
  std::string out;
  for (char c : module) {
    if (c >= 'A' && c <= 'Z') {
      out += '!';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace dlvidx::index
