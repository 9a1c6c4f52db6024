// platform.h on macOS (Apple Silicon and Intel; macOS 12 and later).
// Not compiled or run here (no macOS on the development machines): written
// from Apple's man pages and headers; .github/workflows/macos.yml builds it.
#include <fcntl.h>
#include <libproc.h>      // proc_pidpath
#include <mach-o/dyld.h>  // _NSGetExecutablePath
#include <sys/mman.h>
#include <sys/sysctl.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <vector>

#include "preload/platform.h"

namespace dlvidx::platform {

std::string self_executable() {
  uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);  // -1, and the size it needs
  std::vector<char> buf(size + 1);
  if (_NSGetExecutablePath(buf.data(), &size) != 0) return {};
  char real[PATH_MAX];
  // _NSGetExecutablePath may give a path through symlinks or with "..".
  return realpath(buf.data(), real) ? std::string(real) : std::string(buf.data());
}

bool runs_translated() {
  int translated = 0;
  size_t size = sizeof translated;
  // ENOENT on Intel Macs and old systems: not translated.
  return sysctlbyname("sysctl.proc_translated", &translated, &size, nullptr, 0) == 0 &&
         translated == 1;
}

std::optional<std::string> process_executable(pid_t pid) {
  char buf[PROC_PIDPATHINFO_MAXSIZE];
  int n = proc_pidpath(pid, buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

int64_t mtime_ns(const struct stat& st) {
  return int64_t(st.st_mtimespec.tv_sec) * 1000000000 + st.st_mtimespec.tv_nsec;
}

// XNU has no MADV_POPULATE_READ: the caller's MADV_WILLNEED and touch loop it is.
bool populate_read(void*, size_t) { return false; }

uint64_t resident_pages(const void* p, size_t len, size_t page_size) {
  std::vector<char> vec((len + page_size - 1) / page_size);
  if (vec.empty() || mincore(p, len, vec.data()) != 0) return 0;
  uint64_t n = 0;
  for (char c : vec) n += (c & MINCORE_INCORE) ? 1 : 0;
  return n;
}

// No pipe2: not atomic with a concurrent fork+exec, but the only spawn
// (dap-shim's DlvProcess) runs on the thread that makes the pipe.
int pipe_cloexec(int fds[2]) {
  if (pipe(fds) != 0) return -1;
  for (int i = 0; i < 2; i++)
    if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
      close(fds[0]);
      close(fds[1]);
      return -1;
    }
  return 0;
}

// XNU's pshm_stat fills in st_mode with the object's permission bits only.
bool is_shm_mode(mode_t mode) { return (mode & S_IFMT) == 0 || S_ISREG(mode); }

// POSIX shm objects have no path on macOS.
std::optional<uid_t> shm_owner(const std::string&) { return std::nullopt; }

}  // namespace dlvidx::platform
