#include "index/page_cache.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "index/sqlite_db.h"

namespace chaja {

namespace {

using sql::Db;
using sql::query_int;
using sql::ResetOnExit;
using sql::Stmt;
using sql::Transaction;

constexpr int64_t kApplicationId = 0x43686350;  // "ChcP" in the file header: a Chaja page cache
constexpr int64_t kSchemaVersion = 1;           // PRAGMA user_version
constexpr int kPruneEveryPuts = 64;
constexpr size_t kMaxFieldBytes = size_t{64} << 10;  // url, final_url, content_type, charset
constexpr int kWriterBusyMs = 1000;
constexpr int kReaderBusyMs = 250;

// totals holds the row count and body bytes, kept exact by triggers (also across processes), so a
// put reads one row instead of summing. The upsert in put fires the UPDATE trigger (INSERT OR
// REPLACE would delete without firing the DELETE trigger).
constexpr const char* kSchema = R"sql(
CREATE TABLE pages(
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  final_url TEXT NOT NULL,
  status INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  charset TEXT NOT NULL,
  body TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  fetched_at INTEGER NOT NULL);
CREATE INDEX pages_by_age ON pages(fetched_at);
CREATE TABLE totals(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pages INTEGER NOT NULL,
  bytes INTEGER NOT NULL);
INSERT INTO totals VALUES(1, 0, 0);
CREATE TRIGGER pages_added AFTER INSERT ON pages BEGIN
  UPDATE totals SET pages = pages + 1, bytes = bytes + new.bytes WHERE id = 1;
END;
CREATE TRIGGER pages_removed AFTER DELETE ON pages BEGIN
  UPDATE totals SET pages = pages - 1, bytes = bytes - old.bytes WHERE id = 1;
END;
CREATE TRIGGER pages_replaced AFTER UPDATE OF bytes ON pages BEGIN
  UPDATE totals SET bytes = bytes - old.bytes + new.bytes WHERE id = 1;
END;
PRAGMA application_id = 1130914640;
PRAGMA user_version = 1;
)sql";
static_assert(kApplicationId == 1130914640 && kSchemaVersion == 1,
              "keep kSchema's pragmas in step");

constexpr const char* kGetSql =
    "SELECT final_url, status, content_type, charset, body, fetched_at FROM pages"
    " WHERE url = ?1 AND fetched_at >= ?2";
constexpr const char* kTotalsSql = "SELECT pages, bytes FROM totals WHERE id = 1";
constexpr const char* kUpsertSql =
    "INSERT INTO pages(url, final_url, status, content_type, charset, body, bytes, fetched_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(url) DO UPDATE SET"
    " final_url = excluded.final_url, status = excluded.status,"
    " content_type = excluded.content_type, charset = excluded.charset, body = excluded.body,"
    " bytes = excluded.bytes, fetched_at = excluded.fetched_at";
constexpr const char* kDeleteUrlSql = "DELETE FROM pages WHERE url = ?1";
constexpr const char* kPruneSql = "DELETE FROM pages WHERE fetched_at < ?1";
constexpr const char* kOldestSql = "SELECT id, bytes FROM pages ORDER BY fetched_at, id";
constexpr const char* kDeleteIdSql = "DELETE FROM pages WHERE id = ?1";

// Errors that say nothing about the file's contents: the file must not be replaced for them.
bool environmental(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_AUTH:
    case SQLITE_INTERRUPT:
      return true;
    default:
      return false;
  }
}

int64_t minus_saturated(int64_t a, int64_t b) {  // a - b for b >= 0, clamped at the minimum
  return a < std::numeric_limits<int64_t>::min() + b ? std::numeric_limits<int64_t>::min() : a - b;
}

// One connection and the statements prepared on it (declared after db: finalized first).
struct Conn {
  std::unique_ptr<Db> db;
  std::optional<Stmt> get, totals, upsert, delete_url, prune, oldest, delete_id;
};

}  // namespace

struct PageCache::Impl {
  PageCacheOptions options;
  size_t page_cap = 0;  // effective max_page_bytes

  std::mutex write_mu;  // guards writer and puts_since_prune
  Conn writer;
  int puts_since_prune = 0;

  std::mutex read_mu;  // guards reader; for an in-memory cache reader.db is null
  Conn reader;         // and reads use the writer under write_mu

  // Opens the file and checks or creates the schema. On failure, *unreadable says whether the
  // file's contents are at fault (so replacing the file may help).
  static Result<std::unique_ptr<Impl>> open(const std::filesystem::path& file,
                                            const PageCacheOptions& options, bool* unreadable);

  template <typename F>
  auto with_reader(F&& f) {
    if (reader.db) {
      std::lock_guard<std::mutex> lock(read_mu);
      return f(reader);
    }
    std::lock_guard<std::mutex> lock(write_mu);
    return f(writer);
  }

  Status put_locked(const CachedPage& page);
  Status evict_oldest(int64_t excess);
};

namespace {

Status prepare(Db& db, std::optional<Stmt>& slot, const char* sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  slot.emplace(std::move(*stmt));
  return {};
}

}  // namespace

Result<std::unique_ptr<PageCache::Impl>> PageCache::Impl::open(const std::filesystem::path& file,
                                                               const PageCacheOptions& options,
                                                               bool* unreadable) {
  *unreadable = false;
  const std::string path = file.empty() ? ":memory:" : file.string();
  auto impl = std::make_unique<Impl>();
  impl->options = options;

  auto opened = Db::open(path, false);
  if (!opened) return opened.error();
  impl->writer.db = std::move(*opened);
  Db& w = *impl->writer.db;
  // Every failure below is judged by SQLite's error code: NOTADB, CORRUPT, a missing table or
  // column mean the file is not a usable cache; BUSY, IOERR, CANTOPEN and the like do not.
  auto fail = [&](Db& db, const char* what) -> Error {
    *unreadable = !environmental(sqlite3_errcode(db.raw()));
    return db.error(std::string("page cache ") + path + ": " + what);
  };
  sqlite3_busy_timeout(w.raw(), kWriterBusyMs);

  // WAL lets readers in other processes go on during a write. Where the file system cannot share
  // memory SQLite keeps its rollback journal: slower under contention, but still a working cache.
  {
    auto mode = w.prepare("PRAGMA journal_mode=WAL");
    if (!mode) return fail(w, "journal mode");
    if (!mode->step()) return fail(w, "journal mode");
  }
  if (!w.exec("PRAGMA synchronous=NORMAL")) return fail(w, "synchronous");

  {
    Transaction tx(w);
    if (!tx.begin()) return fail(w, "begin");
    auto app = query_int(w, "PRAGMA application_id");
    if (!app) return fail(w, "application_id");
    auto version = query_int(w, "PRAGMA user_version");
    if (!version) return fail(w, "user_version");
    auto objects = query_int(w, "SELECT count(*) FROM sqlite_master");
    if (!objects) return fail(w, "schema");
    if (*app == 0 && *version == 0 && *objects == 0) {
      if (!w.exec(kSchema)) return fail(w, "create schema");
    } else if (*app != kApplicationId || *version != kSchemaVersion) {
      *unreadable = true;
      return make_error(ErrorKind::kIo, "page cache " + path + ": not a page cache of version " +
                                            std::to_string(kSchemaVersion) + " (application_id " +
                                            std::to_string(*app) + ", user_version " +
                                            std::to_string(*version) + ")");
    }
    if (!tx.commit()) return fail(w, "commit");
  }

  Conn& c = impl->writer;
  for (auto [slot, sql] : {std::pair{&c.get, kGetSql}, std::pair{&c.totals, kTotalsSql},
                           std::pair{&c.upsert, kUpsertSql},
                           std::pair{&c.delete_url, kDeleteUrlSql}, std::pair{&c.prune, kPruneSql},
                           std::pair{&c.oldest, kOldestSql}, std::pair{&c.delete_id, kDeleteIdSql}})
    if (!prepare(w, *slot, sql)) return fail(w, "prepare");

  if (!file.empty()) {
    auto r = Db::open(path, false);
    if (!r) return r.error();
    impl->reader.db = std::move(*r);
    Db& rd = *impl->reader.db;
    sqlite3_busy_timeout(rd.raw(), kReaderBusyMs);
    if (!rd.exec("PRAGMA query_only=ON")) return fail(rd, "query_only");
    if (!prepare(rd, impl->reader.get, kGetSql)) return fail(rd, "prepare");
    if (!prepare(rd, impl->reader.totals, kTotalsSql)) return fail(rd, "prepare");
  }

  // Bound and read as int by the wrapper, and by SQLite's own limit on a value's length (leaving
  // room for the other fields of the row).
  const auto sqlite_limit = static_cast<size_t>(sqlite3_limit(w.raw(), SQLITE_LIMIT_LENGTH, -1));
  const size_t value_cap =
      sqlite_limit > 5 * kMaxFieldBytes ? sqlite_limit - 5 * kMaxFieldBytes : 0;
  impl->page_cap = std::min({options.max_page_bytes, options.max_bytes, value_cap});
  return impl;
}

Status PageCache::Impl::evict_oldest(int64_t excess) {
  std::vector<int64_t> victims;
  {
    Stmt& oldest = *writer.oldest;
    ResetOnExit reset(oldest);
    while (excess > 0) {
      auto row = oldest.step();
      if (!row) return row.error();
      if (!*row) break;
      victims.push_back(oldest.int64(0));
      excess -= oldest.int64(1);
    }
  }
  Stmt& del = *writer.delete_id;
  for (int64_t id : victims) {
    ResetOnExit reset(del);
    if (Status s = del.bind(1, id).run(); !s) return s;
  }
  return {};
}

Status PageCache::Impl::put_locked(const CachedPage& page) {
  Db& w = *writer.db;
  if (page.body.size() > page_cap) {  // not cached; an older copy would now be stale
    Stmt& del = *writer.delete_url;
    ResetOnExit reset(del);
    return del.bind(1, page.url).run();
  }

  Transaction tx(w);
  if (!tx.begin()) return w.error("page cache: begin");
  {
    Stmt& up = *writer.upsert;
    ResetOnExit reset(up);
    up.bind(1, page.url)
        .bind(2, page.final_url)
        .bind(3, int64_t{page.status})
        .bind(4, page.content_type)
        .bind(5, page.charset)
        .bind(6, page.body)
        .bind(7, static_cast<int64_t>(page.body.size()))
        .bind(8, page.fetched_at);
    if (Status s = up.run(); !s) return s;
  }
  auto read_bytes = [&]() -> Result<int64_t> {
    Stmt& totals = *writer.totals;
    ResetOnExit reset(totals);
    auto row = totals.step();
    if (!row) return row.error();
    return *row ? totals.int64(1) : int64_t{0};
  };
  auto bytes = read_bytes();
  if (!bytes) return bytes.error();
  const auto cap = static_cast<int64_t>(
      std::min(options.max_bytes, static_cast<size_t>(std::numeric_limits<int64_t>::max())));

  const bool prune = puts_since_prune == 0 || *bytes > cap;
  if (prune) {
    Stmt& del = *writer.prune;
    ResetOnExit reset(del);
    del.bind(1, minus_saturated(page.fetched_at, options.ttl.count()));
    if (Status s = del.run(); !s) return s;
    if (w.changes() > 0) bytes = read_bytes();
    if (!bytes) return bytes.error();
  }
  if (*bytes > cap)
    if (Status s = evict_oldest(*bytes - cap); !s) return s;
  if (!tx.commit()) return w.error("page cache: commit");

  puts_since_prune = prune ? 1 : puts_since_prune + 1;
  if (puts_since_prune >= kPruneEveryPuts) puts_since_prune = 0;
  return {};
}

PageCache::PageCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PageCache::~PageCache() = default;

Result<std::unique_ptr<PageCache>> PageCache::open(const std::filesystem::path& file,
                                                   PageCacheOptions options) {
  if (options.ttl.count() < 0)
    return make_error(ErrorKind::kInvalidInput, "page cache: the ttl must not be negative");
  if (!file.empty() && file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec)
      return make_error(ErrorKind::kIo, "cannot create folder " + file.parent_path().string() +
                                            ": " + ec.message());
  }
  bool unreadable = false;
  auto impl = Impl::open(file, options, &unreadable);
  if (!impl && unreadable) {
    impl = Error{};  // closes the connections before the file is removed
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
      return make_error(ErrorKind::kIo, "page cache " + file.string() + " is a folder");
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::path p = file;
      p += suffix;
      std::filesystem::remove(p, ec);
      if (ec)
        return make_error(ErrorKind::kIo, "cannot remove unreadable page cache " + p.string() +
                                              ": " + ec.message());
    }
    impl = Impl::open(file, options, &unreadable);
  }
  if (!impl) return impl.error();
  return std::unique_ptr<PageCache>(new PageCache(std::move(*impl)));
}

std::optional<CachedPage> PageCache::get(const std::string& url, int64_t now) {
  if (url.empty() || url.size() > kMaxFieldBytes) return std::nullopt;
  const int64_t oldest = minus_saturated(now, impl_->options.ttl.count());
  return impl_->with_reader([&](Conn& c) -> std::optional<CachedPage> {
    Stmt& q = *c.get;
    ResetOnExit reset(q);
    q.bind(1, url).bind(2, oldest);
    auto row = q.step();
    if (!row || !*row) return std::nullopt;
    CachedPage page;
    page.url = url;
    page.final_url = q.text(0);
    page.status = static_cast<int>(q.int64(1));
    page.content_type = q.text(2);
    page.charset = q.text(3);
    page.body = q.text(4);
    page.fetched_at = q.int64(5);
    return page;
  });
}

Status PageCache::put(const CachedPage& page) {
  if (page.url.empty())
    return make_error(ErrorKind::kInvalidInput, "page cache: a page needs a url");
  for (const std::string* field : {&page.url, &page.final_url, &page.content_type, &page.charset})
    if (field->size() > kMaxFieldBytes)
      return make_error(ErrorKind::kInvalidInput,
                        "page cache: url, final_url, content_type and charset are limited to " +
                            std::to_string(kMaxFieldBytes) + " bytes");
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  return impl_->put_locked(page);
}

PageCache::Stats PageCache::stats() {
  return impl_->with_reader([](Conn& c) {
    Stats st;
    Stmt& q = *c.totals;
    ResetOnExit reset(q);
    auto row = q.step();
    if (row && *row) {
      st.pages = q.int64(0);
      st.bytes = q.int64(1);
    }
    return st;
  });
}

}  // namespace chaja
