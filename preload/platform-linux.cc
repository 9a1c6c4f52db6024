// platform.h on Linux (glibc 2.34 and later).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "preload/platform.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernel headers lack the name
#endif

namespace dlvidx::platform {
namespace fs = std::filesystem;

std::string self_executable() {
  std::error_code ec;
  fs::path p = fs::canonical("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

bool runs_translated() { return false; }

std::optional<std::string> process_executable(pid_t pid) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  if (ec) return std::nullopt;
  return exe.string();
}

int64_t mtime_ns(const struct stat& st) {
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool populate_read(void* p, size_t len) { return madvise(p, len, MADV_POPULATE_READ) == 0; }

uint64_t resident_pages(const void* p, size_t len, size_t page_size) {
  std::vector<unsigned char> vec((len + page_size - 1) / page_size);
  if (vec.empty() || mincore(const_cast<void*>(p), len, vec.data()) != 0) return 0;
  uint64_t n = 0;
  for (unsigned char c : vec) n += c & 1;
  return n;
}

int pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

bool is_shm_mode(mode_t mode) { return S_ISREG(mode); }

std::optional<uid_t> shm_owner(const std::string& name) {
  struct stat st {};
  if (::lstat(("/dev/shm/" + name).c_str(), &st) != 0) return std::nullopt;
  return st.st_uid;
}

}  // namespace dlvidx::platform
