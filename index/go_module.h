// What Go's module layout says about a source path on disk: the nearest go.mod above it (module
// path and the path inside the module), a vendor directory's modules.txt, and the module cache's
// case-escaping ("example.com/Dep" is stored as "example.com/!dep").
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dlvidx::index {

struct ModuleFile {
  std::string dir;     // the directory holding go.mod
  std::string module;  // its module path ("std" and "cmd" inside a GOROOT)
  std::string rel;     // the file's path below dir, '/'-separated
};

// The nearest go.mod above `path` (a file); nullopt if none or it names no module.
std::optional<ModuleFile> module_of(const std::string& path);

// The module paths listed in DIR/vendor/modules.txt ("# M V" lines), longest first.
std::vector<std::string> vendored_modules(const std::string& module_dir);

// The module cache's spelling of a module path: every upper-case letter as '!' + lower case.
std::string escape_module_path(const std::string& module);

}  // namespace dlvidx::index
