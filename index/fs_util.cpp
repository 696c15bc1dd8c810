#include "index/fs_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace chaja {
namespace fs = std::filesystem;

Status sync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return make_error(ErrorKind::kIo, "cannot open " + path.string() + " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return make_error(ErrorKind::kIo, "fsync failed on " + path.string());
  return {};
}

Status write_file_atomic(const fs::path& path, std::string_view bytes) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return make_error(ErrorKind::kIo, "cannot write " + tmp.string());
  }
  if (Status s = sync_path(tmp, false); !s) return s;
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot rename " + tmp.string() + ": " + ec.message());
  return sync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(), true);
}

Result<std::string> read_file_bytes(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec)
    return make_error(ErrorKind::kNotFound, "cannot read " + path.string() + ": " + ec.message());
  if (size > max_bytes) return make_error(ErrorKind::kTooLarge, path.string() + " is too large");
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) return make_error(ErrorKind::kIo, "cannot read " + path.string());
  return bytes;
}

Result<std::string> random_hex(size_t n) {
  std::vector<unsigned char> bytes(n);
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorKind::kIo,
                      std::string("cannot open /dev/urandom: ") + std::strerror(errno));
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, bytes.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int err = r < 0 ? errno : EIO;
      ::close(fd);
      return make_error(ErrorKind::kIo,
                        std::string("cannot read /dev/urandom: ") + std::strerror(err));
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace chaja
