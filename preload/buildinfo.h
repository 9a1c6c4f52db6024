// Go's build information (.go.buildinfo / __go_buildinfo, Go >= 1.18 inline
// format): the Go version that built the binary and the build settings
// ("build\t-gcflags=..." lines of the module info).
#pragma once

#include <optional>
#include <string>

#include "preload/object_file.h"

namespace dlvidx {

struct GoBuildInfo {
  std::string go_version;  // "go1.27.3"
  std::string modinfo;     // the module info text, with the build settings
  std::optional<std::string> setting(const std::string& key) const;  // e.g. "-gcflags"
};

std::optional<GoBuildInfo> read_go_buildinfo(const ObjectFile& obj);

}  // namespace dlvidx
