#include "index/cache_dir.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

namespace dlvidx::index {

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
    return std::string(x) + "/dlvidx";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/dlvidx";
  return fmt::format("/tmp/dlvidx-{}", geteuid());
}

}  // namespace dlvidx::index
