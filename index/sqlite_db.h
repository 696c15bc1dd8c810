// Thin RAII wrappers over sqlite3 used inside the store only (no other module includes sqlite3).
// A Db is one connection; it is not thread-safe: one thread uses it at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja::sql {

class Stmt;

class Db {
 public:
  static Result<std::unique_ptr<Db>> open(const std::string& path, bool read_only);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* raw() { return db_; }
  Status exec(const char* sql);
  Result<Stmt> prepare(std::string_view sql);
  Error error(std::string_view what) const;
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

class Stmt {
 public:
  Stmt(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_real(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // Advances: true when a row is ready, false when done; errors come back as values.
  Result<bool> step();
  Status run();  // steps to completion, ignoring rows
  // Steps to completion, calling on_row(*this) for every row.
  template <typename F>
  Status each(F&& on_row) {
    for (;;) {
      auto row = step();
      if (!row) return row.error();
      if (!*row) return {};
      on_row(*this);
    }
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }

 private:
  Db* db_;
  sqlite3_stmt* stmt_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  Status begin() { return db_.exec("BEGIN IMMEDIATE"); }
  Status commit() {
    Status s = db_.exec("COMMIT");
    if (s) done_ = true;
    return s;
  }
  ~Transaction() {
    if (!done_) (void)db_.exec("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Db& db_;
  bool done_ = false;
};

// The one integer a query returns (0 when it returns no row).
Result<int64_t> query_int(Db& db, const char* sql);

// A user-data file with a versioned schema (threads.db, keys.db): what it is and how to build it.
// migrations[v] takes a file from PRAGMA user_version v to v + 1; a new schema version is one more
// entry (never an edit of an old one). Version 0 is a new, empty file.
struct VersionedSchema {
  const char* kind;        // "thread store": names the file in errors
  int64_t application_id;  // in the file header; tells our files from any other SQLite file
  const char* const* migrations;
  size_t count;
};

// Prepares a connection to such a file: busy timeout busy_ms, synchronous=FULL, then checks the
// file before writing anything (a file that is not ours is left byte for byte as it was), runs the
// migrations from the file's version up to schema.count in one transaction, and switches to WAL.
// Errors: kIo (another application's file, an invalid version, I/O), kUnsupported (a schema
// version newer than this build's), kUnavailable (another process held a lock too long). where
// names the file in messages.
Status open_versioned_schema(Db& d, const std::string& where, const VersionedSchema& schema,
                             int busy_ms);

// Registers Chaja's tokenizer with FTS5 on this connection under the name "chaja".
Status register_fts_tokenizer(Db& db);

// The tokenizer the full-text index uses ("porter chaja": FTS5's porter stemmer over Chaja's
// tokenizer), instantiated from this connection for use outside SQL. One instance per thread:
// the porter stemmer keeps a buffer in it.
class IndexTokenizer {
 public:
  static Result<std::unique_ptr<IndexTokenizer>> create(Db& db);
  ~IndexTokenizer();
  IndexTokenizer(const IndexTokenizer&) = delete;
  IndexTokenizer& operator=(const IndexTokenizer&) = delete;

  // Appends the terms of text to out, as FTS5 would index them.
  void cut(std::string_view text, std::vector<std::string>& out);

 private:
  IndexTokenizer(fts5_tokenizer module, Fts5Tokenizer* instance)
      : module_(module), instance_(instance) {}
  fts5_tokenizer module_;
  Fts5Tokenizer* instance_;
};

// Resets a cached statement when the scope ends: a cached statement left unreset keeps its
// connection's read transaction open.
class ResetOnExit {
 public:
  explicit ResetOnExit(Stmt& stmt) : stmt_(stmt) {}
  ~ResetOnExit() { stmt_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Stmt& stmt_;
};

}  // namespace chaja::sql
