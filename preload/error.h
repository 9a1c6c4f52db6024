// dlvidx::Error: the one exception type of the parsing code. Messages name the
// file and the reason ("dlvidx: /x/y: truncated ELF section header table"); they
// are caught once, in the CLI (exit 1) or the shim's session loop.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace dlvidx {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace dlvidx
