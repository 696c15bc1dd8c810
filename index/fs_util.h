// Small file-system helpers with the durability the index needs.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "index/result.h"

namespace chaja {

// fsync a file or a directory (after a rename, the directory entry must reach the disk too).
Status sync_path(const std::filesystem::path& path, bool directory);

// Writes bytes to `path` through a temporary file beside it: write, fsync, rename, fsync the
// directory. A crash leaves the old file or the new one, never a mix.
Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// The whole file, or kNotFound / kIo.
Result<std::string> read_file_bytes(const std::filesystem::path& path, size_t max_bytes);

// n bytes from /dev/urandom (the kernel's CSPRNG) as 2n lowercase hex characters; kIo when
// /dev/urandom cannot be read. For ids and secrets that must be unguessable.
Result<std::string> random_hex(size_t n);

}  // namespace chaja
