#include "index/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "index/fs_util.h"

namespace chaja {
namespace fs = std::filesystem;

namespace {

// The SQLite files a data folder holds, in the order they are copied; web_cache.db is left out.
constexpr const char* kDatabases[] = {"chaja.db", "threads.db", "keys.db"};
// The files of one collection's dense side (retriever.cpp, save_cached); .gen is written last.
constexpr const char* kVectorParts[] = {".faiss", ".stats"};

constexpr auto kLockWait = std::chrono::seconds(30);

Error io_error(const std::string& what) {
  return make_error(ErrorKind::kIo, what + ": " + std::strerror(errno));
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Closes a connection on scope exit.
struct Conn {
  sqlite3* db = nullptr;
  ~Conn() { sqlite3_close_v2(db); }
};

// Which file a path named when it was read: a rewrite by rename gives a new inode.
struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  bool operator==(const Identity& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

Identity identity_of(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

bool newer(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

// Copies `from` into the new file `to` and fsyncs it; the identity of the file read.
Result<Identity> copy_and_sync(const fs::path& from, const fs::path& to) {
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return io_error("cannot open " + from.string());
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return io_error("cannot stat " + from.string());
  Fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (out.fd < 0) return io_error("cannot create " + to.string());
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot read " + from.string());
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.fd, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return io_error("cannot write " + to.string());
      done += w;
    }
  }
  if (::fsync(out.fd) != 0) return io_error("fsync failed on " + to.string());
  return identity_of(st);
}

std::optional<Identity> identity_at(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return identity_of(st);
}

// One collection's dense side, copied as one consistent set or not at all. Returns false when it
// kept changing (the caller reports it left out).
Result<bool> copy_vector_set(const fs::path& from_dir, const fs::path& to_dir,
                             const std::string& collection, BackupReport& report) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
    std::vector<std::string> names;
    for (const char* part : kVectorParts)
      if (fs::exists(from_dir / (collection + part))) names.push_back(collection + part);
    if (names.empty() || names[0] != collection + ".faiss") return false;  // nothing to load
    names.push_back(collection + ".gen");
    std::vector<Identity> read;
    bool ok = true;
    for (const std::string& name : names) {
      auto id = copy_and_sync(from_dir / name, to_dir / name);
      if (!id) {
        ok = false;  // replaced or removed meanwhile: try again
        break;
      }
      read.push_back(*id);
    }
    // Still the files read (none replaced meanwhile), and no save half done: .gen is written
    // last, so a .faiss or .stats newer than it belongs to a save still under way.
    for (size_t i = 0; ok && i < names.size(); ++i) {
      const auto now = identity_at(from_dir / names[i]);
      ok = now && *now == read[i] && !newer(read[i].mtime, read.back().mtime);
    }
    if (ok) {
      for (size_t i = 0; i < names.size(); ++i) {
        report.files.push_back({"vectors/" + names[i], static_cast<uint64_t>(read[i].size)});
        report.bytes += static_cast<uint64_t>(read[i].size);
      }
      return true;
    }
    for (const std::string& name : names) {
      std::error_code ec;
      fs::remove(to_dir / name, ec);
    }
  }
  return false;
}

// The dense-side cache, before the databases: its generation is then never newer than theirs.
Status copy_vectors(const fs::path& data, const fs::path& partial, BackupReport& report) {
  const fs::path from = data / "vectors";
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return {};
  const fs::path to = partial / "vectors";
  if (!fs::create_directory(to, ec))
    return make_error(ErrorKind::kIo, "cannot create " + to.string() + ": " + ec.message());
  std::vector<std::string> collections;
  for (const auto& entry : fs::directory_iterator(from, ec))
    if (entry.path().extension() == ".gen") collections.push_back(entry.path().stem().string());
  if (ec) return make_error(ErrorKind::kIo, "cannot list " + from.string() + ": " + ec.message());
  for (const std::string& c : collections) {
    auto copied = copy_vector_set(from, to, c, report);
    if (!copied) return copied.error();
    if (!*copied)
      report.skipped.push_back("vectors/" + c +
                               ": changing during the backup; rebuilt from the store on first use");
  }
  return sync_path(to, true);
}

}  // namespace

Result<uint64_t> backup_database(const fs::path& from, const fs::path& to) {
  Conn src;
  if (sqlite3_open_v2(from.c_str(), &src.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return make_error(ErrorKind::kIo, "cannot open " + from.string() + ": " +
                                          (src.db ? sqlite3_errmsg(src.db) : "out of memory"));
  // Closing must not checkpoint the live database on the server's behalf.
  sqlite3_db_config(src.db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_busy_timeout(src.db, 10000);
  Conn dst;
  if (sqlite3_open_v2(to.c_str(), &dst.db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return make_error(ErrorKind::kIo, "cannot create " + to.string() + ": " +
                                          (dst.db ? sqlite3_errmsg(dst.db) : "out of memory"));
  sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
  if (b == nullptr)
    return make_error(ErrorKind::kIo,
                      "cannot back up " + from.string() + ": " + sqlite3_errmsg(dst.db));
  // All pages in one step: one read transaction, so the copy is one committed state. In WAL mode
  // the server's writes go on meanwhile; a step in pieces would restart at every write.
  const auto deadline = std::chrono::steady_clock::now() + kLockWait;
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(b, -1);
    if (rc == SQLITE_DONE) break;
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    break;
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    const ErrorKind kind =
        (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? ErrorKind::kUnavailable : ErrorKind::kIo;
    return make_error(kind, "cannot back up " + from.string() + ": " + sqlite3_errstr(rc));
  }
  if (sqlite3_close(dst.db) != SQLITE_OK)
    return make_error(ErrorKind::kIo,
                      "cannot close " + to.string() + ": " + sqlite3_errmsg(dst.db));
  dst.db = nullptr;
  if (Status s = sync_path(to, false); !s) return s.error();
  std::error_code ec;
  const auto bytes = fs::file_size(to, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot stat " + to.string() + ": " + ec.message());
  return static_cast<uint64_t>(bytes);
}

Result<BackupReport> backup_data_dir(const fs::path& data, const fs::path& target_in) {
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::exists(data / "chaja.db", ec))
    return make_error(ErrorKind::kNotFound, "no index in " + data.string() + " (no chaja.db)");
  const fs::path target = fs::absolute(target_in, ec).lexically_normal();
  if (ec || target.filename().empty())
    return make_error(ErrorKind::kInvalidInput,
                      "cannot use " + target_in.string() + " as a target");
  if (fs::exists(fs::symlink_status(target, ec))) {
    if (!fs::is_directory(fs::symlink_status(target, ec)))
      return make_error(ErrorKind::kInvalidInput,
                        target.string() + " exists and is not a folder; give a new or empty one");
    if (!fs::is_empty(target, ec))
      return make_error(ErrorKind::kInvalidInput,
                        target.string() + " is not empty; give a new or empty folder");
  }
  const fs::path parent = target.parent_path();
  fs::create_directories(parent, ec);
  if (ec)
    return make_error(ErrorKind::kIo, "cannot create " + parent.string() + ": " + ec.message());
  auto suffix = random_hex(4);
  if (!suffix) return suffix.error();
  const fs::path partial = parent / (".partial-" + target.filename().string() + "-" + *suffix);
  if (!fs::create_directory(partial, ec))
    return make_error(ErrorKind::kIo, "cannot create " + partial.string() + ": " + ec.message());

  BackupReport report;
  auto fill = [&]() -> Status {
    if (Status s = copy_vectors(data, partial, report); !s) return s;
    for (const char* name : kDatabases) {
      if (!fs::exists(data / name, ec)) continue;  // threads and keys appear on first use
      auto bytes = backup_database(data / name, partial / name);
      if (!bytes) return bytes.error();
      report.files.push_back({name, *bytes});
      report.bytes += *bytes;
    }
    if (fs::exists(data / "web_cache.db", ec))
      report.skipped.push_back("web_cache.db: a disposable cache");
    if (Status s = sync_path(partial, true); !s) return s;
    // Onto the target in one step (rename replaces an empty folder), then the entry to disk.
    fs::rename(partial, target, ec);
    if (ec)
      return make_error(ErrorKind::kIo, "cannot rename " + partial.string() + " to " +
                                            target.string() + ": " + ec.message());
    return sync_path(parent, true);
  };
  if (Status s = fill(); !s) {
    fs::remove_all(partial, ec);
    return s.error();
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace chaja
