#include "presence/runtime/mapped_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "presence/runtime/format_error.hpp"

namespace presence::runtime {

namespace {
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const std::string label = path.string();
  Fd f;
  do {
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (f.fd < 0 && errno == EINTR);
  if (f.fd < 0) throw FormatError(label, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw FormatError(label, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw FormatError(label, "not a regular file");

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<std::size_t>(st.st_size);
  if (file->size_ == 0) return file;  // mmap refuses a zero length; an empty span is the answer
  // Private and writable: see the class comment. The descriptor is read-only, so the file itself
  // can never change through this mapping.
  void* data = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, f.fd, 0);
  if (data == MAP_FAILED) throw FormatError(label, std::string("cannot map into memory: ") + std::strerror(errno));
  file->data_ = data;
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace presence::runtime
