#include "preload/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "preload/error.h"
#include "preload/platform.h"

namespace dlvidx {

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
  // O_NONBLOCK: a FIFO given as the binary is refused below (not a regular file), not waited on.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail("{}: cannot stat: {}", path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  std::unique_ptr<MappedFile> m(new MappedFile);
  m->path_ = path;
  m->size_ = static_cast<uint64_t>(st.st_size);
  m->mtime_ns_ = platform::mtime_ns(st);
  if (m->size_ == 0) {
    ::close(fd);
    fail("{}: empty file", path);
  }
  void* p = mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) fail("{}: cannot map: {}", path, std::strerror(e));
  m->data_ = static_cast<const uint8_t*>(p);
  return m;
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace dlvidx
