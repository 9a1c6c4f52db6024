// The user's dlvidx cache directory, computed in one place: $XDG_CACHE_HOME/dlvidx (an absolute
// XDG_CACHE_HOME only, as the XDG spec says), else $HOME/.cache/dlvidx, else /tmp/dlvidx-<euid>.
// Index files live in it; the shim's builds of debug/test programs in its bin/.
#pragma once

#include <string>

namespace dlvidx::index {

std::string default_cache_dir();

}  // namespace dlvidx::index
