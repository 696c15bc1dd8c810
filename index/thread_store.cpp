#include "index/thread_store.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <tuple>
#include <utility>

#include "index/fs_util.h"
#include "index/sqlite_db.h"
#include "index/utf8.h"

namespace chaja {

namespace {

using sql::Db;
using sql::ResetOnExit;
using sql::Stmt;
using sql::Transaction;

constexpr int64_t kApplicationId = 0x43686354;  // "ChcT" in the file header: Chaja threads
constexpr int kBusyMs = 5000;
constexpr size_t kIdBytes = 16;                       // 32 hex characters
constexpr size_t kMaxNameBytes = size_t{1} << 10;     // collection, owner, model
constexpr size_t kMaxLimitOption = size_t{64} << 20;  // any size option
constexpr const char* kWhat = "thread store";

// The schema's migrations (see sql::VersionedSchema).
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE threads(
  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),
  collection TEXT NOT NULL,
  owner TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX threads_by_owner ON threads(owner, created_at);
CREATE TABLE turns(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  thread_id TEXT NOT NULL REFERENCES threads(id),
  question TEXT NOT NULL,
  query TEXT NOT NULL,
  answer TEXT NOT NULL,
  citations_json TEXT NOT NULL,
  related_json TEXT NOT NULL,
  model TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX turns_by_thread ON turns(thread_id, id);
)sql",
};

constexpr const char* kInsertThreadSql =
    "INSERT INTO threads(id, collection, owner, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?4)";
constexpr const char* kThreadSql =
    "SELECT collection, owner, created_at, updated_at,"
    " (SELECT count(*) FROM turns WHERE thread_id = ?1) FROM threads WHERE id = ?1";
constexpr const char* kNewestTurnsSql =
    "SELECT id, question, query, answer, citations_json, related_json, model, created_at"
    " FROM turns WHERE thread_id = ?1 ORDER BY id DESC LIMIT ?2";
constexpr const char* kInsertTurnSql =
    "INSERT INTO turns(thread_id, question, query, answer, citations_json, related_json, model,"
    " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kTouchThreadSql = "UPDATE threads SET updated_at = ?2 WHERE id = ?1";
constexpr const char* kDeleteTurnsSql = "DELETE FROM turns WHERE thread_id = ?1";
constexpr const char* kDeleteThreadSql = "DELETE FROM threads WHERE id = ?1";
constexpr const char* kListSql =
    "SELECT id, collection, created_at, updated_at,"
    " (SELECT count(*) FROM turns WHERE turns.thread_id = threads.id)"
    " FROM threads WHERE owner = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2";

// A read transaction (BEGIN DEFERRED): several SELECTs see one snapshot. Ends on destruction.
class ReadTransaction {
 public:
  explicit ReadTransaction(Db& db) : db_(db) {}
  Status begin() {
    Status s = db_.exec("BEGIN");
    open_ = s.ok();
    return s;
  }
  ~ReadTransaction() {
    if (open_) (void)db_.exec("ROLLBACK");  // nothing was written: ends the read
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Db& db_;
  bool open_ = false;
};

Error in_store(const Error& e) {
  return make_error(e.kind, std::string(kWhat) + ": " + e.message);
}

int64_t to_int64(size_t n) {
  return static_cast<int64_t>(
      std::min(n, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

Status check_id(const std::string& id) {
  const bool ok = id.size() == 2 * kIdBytes && std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                  });
  if (!ok)
    return make_error(ErrorKind::kInvalidInput,
                      "thread store: a thread id is 32 lowercase hex characters");
  return {};
}

// Size first (kTooLarge), then UTF-8 (kInvalidInput).
Status check_text(const std::string& value, const char* name, size_t max_bytes) {
  if (value.size() > max_bytes)
    return make_error(ErrorKind::kTooLarge, std::string("thread store: the ") + name + " is " +
                                                std::to_string(value.size()) +
                                                " bytes, over the limit of " +
                                                std::to_string(max_bytes));
  if (!utf8::is_valid(value))
    return make_error(ErrorKind::kInvalidInput,
                      std::string("thread store: the ") + name + " is not valid UTF-8");
  return {};
}

// 16 bytes from /dev/urandom (the kernel CSPRNG) as 32 lowercase hex characters.
Result<std::string> random_id() {
  auto id = random_hex(kIdBytes);
  if (!id) return in_store(id.error());
  return id;
}

Status prepare(Db& db, std::optional<Stmt>& slot, const char* sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  slot.emplace(std::move(*stmt));
  return {};
}

}  // namespace

struct ThreadStore::Impl {
  ThreadStoreOptions options;
  std::mutex mu;  // guards db and the statements: one call at a time
  std::unique_ptr<Db> db;
  // Declared after db: finalized before the connection closes.
  std::optional<Stmt> insert_thread, thread, newest_turns, insert_turn, touch_thread, delete_turns,
      delete_thread, list;

  int64_t now() const {
    if (options.clock) return options.clock();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  Status open_schema(const std::string& path);
};

Status ThreadStore::Impl::open_schema(const std::string& path) {
  Db& d = *db;
  const std::string where = std::string(kWhat) + " " + path;
  auto fail = [&](const char* what) -> Error { return d.error(where + ": " + what); };

  if (!d.exec("PRAGMA foreign_keys=ON")) return fail("foreign keys");

  const sql::VersionedSchema schema{kWhat, kApplicationId, kMigrations, std::size(kMigrations)};
  if (Status st = sql::open_versioned_schema(d, where, schema, kBusyMs); !st) return st;
  // Every answer writes here twice (the thread, then its turn), under one mutex: with
  // synchronous=FULL each commit waited for an fdatasync while every other answer queued behind
  // it, which capped /v1/ask at about 150 answers a second whatever the connections
  // (bench_load). In WAL mode, NORMAL still keeps every commit through a process crash (kill -9:
  // the WAL is written before the commit returns) and gives up only the last commits on a power
  // or OS failure; conversation history can take that, documents and keys (FULL) cannot. In
  // rollback mode (where WAL is unavailable) NORMAL could corrupt, so FULL stays.
  {
    auto mode = d.prepare("PRAGMA journal_mode");
    if (!mode) return fail("journal mode");
    auto row = mode->step();
    if (!row) return fail("journal mode");
    if (*row && mode->text(0) == "wal" && !d.exec("PRAGMA synchronous=NORMAL"))
      return fail("synchronous");
  }

  for (auto [slot, sql] :
       {std::pair{&insert_thread, kInsertThreadSql}, std::pair{&thread, kThreadSql},
        std::pair{&newest_turns, kNewestTurnsSql}, std::pair{&insert_turn, kInsertTurnSql},
        std::pair{&touch_thread, kTouchThreadSql}, std::pair{&delete_turns, kDeleteTurnsSql},
        std::pair{&delete_thread, kDeleteThreadSql}, std::pair{&list, kListSql}})
    if (!prepare(d, *slot, sql)) return fail("prepare");
  return {};
}

ThreadStore::ThreadStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ThreadStore::~ThreadStore() = default;

Result<std::unique_ptr<ThreadStore>> ThreadStore::open(const std::filesystem::path& file,
                                                       ThreadStoreOptions options) {
  if (options.max_turns_per_thread == 0)
    return make_error(ErrorKind::kInvalidInput,
                      "thread store: max_turns_per_thread must be at least 1");
  for (size_t limit :
       {options.max_question_bytes, options.max_answer_bytes, options.max_json_bytes})
    if (limit > kMaxLimitOption)
      return make_error(ErrorKind::kInvalidInput, "thread store: a size limit must be at most " +
                                                      std::to_string(kMaxLimitOption) + " bytes");
  if (!file.empty() && file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec)
      return make_error(ErrorKind::kIo, "cannot create folder " + file.parent_path().string() +
                                            ": " + ec.message());
  }
  const std::string path = file.empty() ? ":memory:" : file.string();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  auto db = Db::open(path, false);
  if (!db) return db.error();
  impl->db = std::move(*db);
  if (Status s = impl->open_schema(path); !s) return s.error();
  return std::unique_ptr<ThreadStore>(new ThreadStore(std::move(impl)));
}

Result<std::string> ThreadStore::create(const std::string& collection, const std::string& owner) {
  if (Status s = check_text(collection, "collection", kMaxNameBytes); !s)
    return make_error(ErrorKind::kInvalidInput, s.error().message);
  if (Status s = check_text(owner, "owner", kMaxNameBytes); !s)
    return make_error(ErrorKind::kInvalidInput, s.error().message);

  std::lock_guard<std::mutex> lock(impl_->mu);
  const int64_t now = impl_->now();
  // A collision of 128 random bits does not happen; a retry costs nothing to write, though.
  for (int attempt = 0;; ++attempt) {
    auto id = random_id();
    if (!id) return id.error();
    Stmt& ins = *impl_->insert_thread;
    ResetOnExit reset(ins);
    ins.bind(1, *id).bind(2, collection).bind(3, owner).bind(4, now);
    Status s = ins.run();
    if (s) return std::move(*id);
    const bool collided =
        sqlite3_extended_errcode(impl_->db->raw()) == SQLITE_CONSTRAINT_PRIMARYKEY;
    if (!collided || attempt >= 2) return in_store(s.error());
  }
}

Result<ThreadInfo> ThreadStore::get(const std::string& id, size_t max_turns) {
  if (Status s = check_id(id); !s) return s.error();
  std::lock_guard<std::mutex> lock(impl_->mu);
  ReadTransaction tx(*impl_->db);
  if (!tx.begin()) return impl_->db->error("thread store: begin");

  ThreadInfo info;
  info.id = id;
  {
    Stmt& q = *impl_->thread;
    ResetOnExit reset(q);
    q.bind(1, id);
    auto row = q.step();
    if (!row) return in_store(row.error());
    if (!*row) return thread_not_found(id);
    info.collection = q.text(0);
    info.owner = q.text(1);
    info.created_at = q.int64(2);
    info.updated_at = q.int64(3);
    info.turn_count = q.int64(4);
  }
  if (max_turns > 0) {
    Stmt& q = *impl_->newest_turns;
    ResetOnExit reset(q);
    q.bind(1, id).bind(2, to_int64(max_turns));
    Status s = q.each([&](Stmt& r) {
      ThreadTurn t;
      t.id = r.int64(0);
      t.question = r.text(1);
      t.query = r.text(2);
      t.answer = r.text(3);
      t.citations_json = r.text(4);
      t.related_json = r.text(5);
      t.model = r.text(6);
      t.created_at = r.int64(7);
      info.turns.push_back(std::move(t));
    });
    if (!s) return in_store(s.error());
    std::reverse(info.turns.begin(), info.turns.end());
  }
  return info;
}

Result<ThreadTurn> ThreadStore::append(const std::string& id, ThreadTurn turn) {
  if (Status s = check_id(id); !s) return s.error();
  const ThreadStoreOptions& o = impl_->options;
  if (turn.question.empty())
    return make_error(ErrorKind::kInvalidInput, "thread store: a turn needs a question");
  for (auto [field, name, max] :
       {std::tuple{&turn.question, "question", o.max_question_bytes},
        std::tuple{&turn.query, "query", o.max_question_bytes},
        std::tuple{&turn.answer, "answer", o.max_answer_bytes},
        std::tuple{&turn.citations_json, "citations_json", o.max_json_bytes},
        std::tuple{&turn.related_json, "related_json", o.max_json_bytes},
        std::tuple{&turn.model, "model", kMaxNameBytes}})
    if (Status s = check_text(*field, name, max); !s) return s.error();
  if (turn.citations_json.empty()) turn.citations_json = "[]";
  if (turn.related_json.empty()) turn.related_json = "[]";

  std::lock_guard<std::mutex> lock(impl_->mu);
  Db& d = *impl_->db;
  Transaction tx(d);
  if (!tx.begin()) return d.error("thread store: begin");
  turn.created_at = impl_->now();
  {
    Stmt& q = *impl_->thread;
    ResetOnExit reset(q);
    q.bind(1, id);
    auto row = q.step();
    if (!row) return in_store(row.error());
    if (!*row) return thread_not_found(id);
    if (q.int64(4) >= to_int64(o.max_turns_per_thread))
      return make_error(ErrorKind::kConflict, "thread " + id + " is full (" +
                                                  std::to_string(o.max_turns_per_thread) +
                                                  " turns), start a new one");
  }
  {
    Stmt& ins = *impl_->insert_turn;
    ResetOnExit reset(ins);
    ins.bind(1, id)
        .bind(2, turn.question)
        .bind(3, turn.query)
        .bind(4, turn.answer)
        .bind(5, turn.citations_json)
        .bind(6, turn.related_json)
        .bind(7, turn.model)
        .bind(8, turn.created_at);
    if (Status s = ins.run(); !s) return in_store(s.error());
    turn.id = d.last_insert_id();
  }
  {
    Stmt& up = *impl_->touch_thread;
    ResetOnExit reset(up);
    up.bind(1, id).bind(2, turn.created_at);
    if (Status s = up.run(); !s) return in_store(s.error());
  }
  if (!tx.commit()) return d.error("thread store: commit");
  return turn;
}

Status ThreadStore::remove(const std::string& id) {
  if (Status s = check_id(id); !s) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  Db& d = *impl_->db;
  Transaction tx(d);
  if (!tx.begin()) return d.error("thread store: begin");
  {
    Stmt& del = *impl_->delete_turns;
    ResetOnExit reset(del);
    if (Status s = del.bind(1, id).run(); !s) return in_store(s.error());
  }
  {
    Stmt& del = *impl_->delete_thread;
    ResetOnExit reset(del);
    if (Status s = del.bind(1, id).run(); !s) return in_store(s.error());
    if (d.changes() == 0) return thread_not_found(id);  // rolls back (nothing was deleted)
  }
  if (!tx.commit()) return d.error("thread store: commit");
  return {};
}

Result<std::vector<ThreadInfo>> ThreadStore::list(const std::string& owner, size_t limit) {
  std::vector<ThreadInfo> out;
  if (limit == 0) return out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt& q = *impl_->list;
  ResetOnExit reset(q);
  q.bind(1, owner).bind(2, to_int64(limit));
  Status s = q.each([&](Stmt& r) {
    ThreadInfo info;
    info.id = r.text(0);
    info.collection = r.text(1);
    info.owner = owner;
    info.created_at = r.int64(2);
    info.updated_at = r.int64(3);
    info.turn_count = r.int64(4);
    out.push_back(std::move(info));
  });
  if (!s) return in_store(s.error());
  return out;
}

Error thread_not_found(const std::string& id) {
  return make_error(ErrorKind::kNotFound, "thread " + id + " not found");
}

}  // namespace chaja
