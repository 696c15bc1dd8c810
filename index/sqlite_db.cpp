#include "index/sqlite_db.h"

namespace chaja::sql {

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(ErrorKind::kIo, "cannot open database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Db>(new Db(db));
}

Db::~Db() {
  sqlite3_close_v2(db_);
}

Error Db::error(std::string_view what) const {
  const int code = sqlite3_errcode(db_);
  const ErrorKind kind = (code & 0xff) == SQLITE_FULL   ? ErrorKind::kIo
                         : (code & 0xff) == SQLITE_BUSY ? ErrorKind::kUnavailable
                                                        : ErrorKind::kIo;
  return make_error(kind, std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status Db::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorKind::kIo, "sqlite: " + msg);
  }
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK)
    return error("prepare");
  return Stmt(this, stmt);
}

Result<bool> Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->error("step");
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) return {};
  }
}

Result<int64_t> query_int(Db& db, const char* sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? stmt->int64(0) : int64_t{0};
}

Status open_versioned_schema(Db& d, const std::string& where, const VersionedSchema& schema,
                             int busy_ms) {
  auto fail = [&](const char* what) -> Error { return d.error(where + ": " + what); };
  const auto latest = static_cast<int64_t>(schema.count);
  sqlite3_busy_timeout(d.raw(), busy_ms);
  if (!d.exec("PRAGMA synchronous=FULL")) return fail("synchronous");

  // The file is checked before anything is written to it, the journal mode included: a file
  // that is not ours is left byte for byte as it was.
  {
    Transaction tx(d);
    if (!tx.begin()) return fail("begin");
    auto app = query_int(d, "PRAGMA application_id");
    if (!app) return fail("application_id");
    auto version = query_int(d, "PRAGMA user_version");
    if (!version) return fail("user_version");
    auto objects = query_int(d, "SELECT count(*) FROM sqlite_master");
    if (!objects) return fail("schema");

    const bool fresh = *app == 0 && *version == 0 && *objects == 0;
    if (!fresh && *app != schema.application_id)
      return make_error(ErrorKind::kIo, where + " is not a Chaja " + std::string(schema.kind) +
                                            " (application_id " + std::to_string(*app) +
                                            "); it was left untouched");
    if (*version > latest)
      return make_error(ErrorKind::kUnsupported,
                        where + " has schema version " + std::to_string(*version) +
                            ", newer than this build's " + std::to_string(latest) +
                            ": use a newer chaja (the file was left untouched)");
    if (*version < 0)
      return make_error(ErrorKind::kIo, where + " has an invalid schema version " +
                                            std::to_string(*version) + "; it was left untouched");
    if (fresh &&
        !d.exec(("PRAGMA application_id = " + std::to_string(schema.application_id)).c_str()))
      return fail("application_id");
    for (int64_t v = *version; v < latest; ++v) {
      if (!d.exec(schema.migrations[v])) return fail("schema migration");
      if (!d.exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str()))
        return fail("user_version");
    }
    if (!tx.commit()) return fail("commit");
  }
  {
    auto mode = d.prepare("PRAGMA journal_mode=WAL");  // stays in rollback mode where WAL cannot
    if (!mode) return fail("journal mode");
    if (!mode->step()) return fail("journal mode");
  }

  return {};
}

}  // namespace chaja::sql
