// The operating system, behind one small interface: everything dlvidx needs
// that POSIX does not give the same way on Linux and macOS. Implemented once
// per OS, in files named for it (mold's pattern): platform-linux.cc,
// platform-darwin.cc (and the shim's dap-shim/process_tree-*.cc). No other
// file calls an OS-specific interface; they all compile on any POSIX system.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dlvidx::platform {

// This process's executable, resolved; empty if it cannot be told
// (Linux: /proc/self/exe; macOS: _NSGetExecutablePath).
std::string self_executable();

// Whether this process is an x86-64 one run by Rosetta 2 on an arm64 Mac
// (sysctl.proc_translated); false on Linux.
bool runs_translated();

// The executable of process `pid` (a local attach's program); nullopt if it
// cannot be told (Linux: /proc/PID/exe; macOS: proc_pidpath).
std::optional<std::string> process_executable(pid_t pid);

// A stat's modification time in nanoseconds (st_mtim; st_mtimespec on macOS).
int64_t mtime_ns(const struct stat& st);

// Asks the kernel to read [p, p+len) in and map it; false if it cannot
// (Linux before 5.14, macOS: no MADV_POPULATE_READ), and the caller touches
// each page instead. `p` is page-aligned.
bool populate_read(void* p, size_t len);

// How many of the pages of [p, p+len) are resident (mincore: `unsigned char*`
// on Linux, `char*` on macOS, where only MINCORE_INCORE means resident).
uint64_t resident_pages(const void* p, size_t len, size_t page_size);

// A pipe with both ends close-on-exec (pipe2 on Linux; pipe + FD_CLOEXEC on
// macOS, which has no pipe2). Returns 0 or -1 with errno.
int pipe_cloexec(int fds[2]);

// Whether fstat's st_mode is that of a shared memory object: a regular file
// of tmpfs on Linux; on macOS fstat reports only the permission bits.
bool is_shm_mode(mode_t mode);

// The owner of shared memory object `name` that could not be opened (to say
// whose it is): Linux looks at /dev/shm/NAME; macOS has no such path.
std::optional<uid_t> shm_owner(const std::string& name);

}  // namespace dlvidx::platform
