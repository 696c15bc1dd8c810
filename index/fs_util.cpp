#include "index/fs_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

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

}  // namespace chaja
