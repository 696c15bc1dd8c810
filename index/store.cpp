#include "index/store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "index/lexical_index.h"
#include "index/sqlite_db.h"
#include "index/tokenizer.h"

namespace chaja {

using sql::Db;
using sql::Stmt;
using sql::Transaction;

namespace {

// 2: collections.generation; 3: embedder, dimension; 4: collection_removals and its trigger
constexpr int kSchemaVersion = 4;
constexpr size_t kMaxReaders = 8;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  generation INTEGER NOT NULL DEFAULT 0,
  embedder TEXT NOT NULL DEFAULT '',
  dimension INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS documents(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  title TEXT NOT NULL,
  source TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(collection_id, source));
CREATE INDEX IF NOT EXISTS documents_by_hash ON documents(collection_id, content_hash);
CREATE TABLE IF NOT EXISTS chunks(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  doc_id INTEGER NOT NULL REFERENCES documents(id),
  seq INTEGER NOT NULL,
  section TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL,
  start_byte INTEGER NOT NULL,
  end_byte INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, seq);
CREATE VIEW IF NOT EXISTS chunk_texts AS
  SELECT c.id AS id,
         d.title || CASE WHEN c.section <> '' THEN ' / ' || c.section ELSE '' END AS title,
         c.text AS body
  FROM chunks c JOIN documents d ON d.id = c.doc_id;
CREATE TABLE IF NOT EXISTS collection_removals(
  collection_id INTEGER PRIMARY KEY REFERENCES collections(id),
  chunks INTEGER NOT NULL DEFAULT 0);
CREATE TRIGGER IF NOT EXISTS chunks_removed AFTER DELETE ON chunks BEGIN
  INSERT INTO collection_removals(collection_id, chunks)
    SELECT collection_id, 1 FROM documents WHERE id = old.doc_id
    ON CONFLICT(collection_id) DO UPDATE SET chunks = chunks + 1;
END;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
  title, body, content='chunk_texts', content_rowid='id', tokenize='porter chaja');
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');
)sql";

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// FTS5 MATCH expression: the query's terms, each a quoted string, OR-ed; BM25 ranks documents by
// how many and how rare the matched terms are. Terms never contain quotes (they are separators).
std::string match_expression(const std::vector<std::string>& terms) {
  std::string expr;
  for (const std::string& term : terms) {
    if (!expr.empty()) expr += " OR ";
    expr += '"';
    expr += term;
    expr += '"';
  }
  return expr;
}

// Query terms worth their cost (see useful_term_indexes): FTS5 scores every row matching any
// OR-ed term, so a common term costs the most and ranks least.
std::vector<std::string> useful_terms(Db& db, const std::vector<std::string>& terms) {
  if (terms.size() <= 1) return terms;
  auto total = db.prepare("SELECT count(*) FROM chunks");
  auto df = db.prepare("SELECT doc FROM chunks_vocab WHERE term = ?");
  if (!total || !df) return terms;
  auto row = total->step();
  if (!row || !*row) return terms;
  const int64_t rows = total->int64(0);
  std::vector<int64_t> freq;
  for (const std::string& t : terms) {
    df->reset();
    df->bind(1, t);
    auto r = df->step();
    // Terms the vocabulary does not list as such (stemmed English words) count as rare.
    freq.push_back(r && *r ? df->int64(0) : 0);
  }
  std::vector<std::string> out;
  for (const size_t i : useful_term_indexes(freq, rows)) out.push_back(terms[i]);
  return out;
}

// A metadata filter as an SQL condition on documents `d`, with its parameters in order: per key
// an OR of its values, the keys AND-ed. json_type tells a string from a number from a boolean
// (json_extract alone reads "2024", 2024 and true as the same SQL value, or true as 1).
struct FilterSql {
  std::string condition;
  std::vector<std::pair<const FilterValue*, std::string>> params;  // (value, or null: a path)
};

FilterSql filter_sql(const MetadataFilter& filter) {
  FilterSql out;
  for (const FilterCondition& c : filter.conditions) {
    // Keys are [A-Za-z0-9_.-] (check_metadata_filter): quoted, "a.b" is one key.
    const std::string path = "$.\"" + c.key + "\"";
    std::string any;
    for (const FilterValue& v : c.any_of) {
      if (!any.empty()) any += " OR ";
      out.params.emplace_back(nullptr, path);
      switch (v.kind) {
        case FilterValue::Kind::kString:
          any += "(json_type(d.metadata, ?) = 'text' AND json_extract(d.metadata, ?) = ?)";
          out.params.emplace_back(nullptr, path);
          out.params.emplace_back(&v, "");
          break;
        case FilterValue::Kind::kInteger:
        case FilterValue::Kind::kReal:
          any +=
              "(json_type(d.metadata, ?) IN ('integer', 'real') AND "
              "json_extract(d.metadata, ?) = ?)";
          out.params.emplace_back(nullptr, path);
          out.params.emplace_back(&v, "");
          break;
        case FilterValue::Kind::kBool:
          any += v.boolean ? "json_type(d.metadata, ?) = 'true'"
                           : "json_type(d.metadata, ?) = 'false'";
          break;
      }
    }
    out.condition += " AND (" + any + ")";
  }
  return out;
}

void bind_filter(Stmt& q, int first, const FilterSql& f) {
  int i = first;
  for (const auto& [value, path] : f.params) {
    if (value == nullptr) {
      q.bind(i++, path);
      continue;
    }
    switch (value->kind) {
      case FilterValue::Kind::kString:
        q.bind(i++, value->text);
        break;
      case FilterValue::Kind::kInteger:
        q.bind(i++, value->integer);
        break;
      case FilterValue::Kind::kReal:
        q.bind_real(i++, value->real);
        break;
      case FilterValue::Kind::kBool:
        break;  // in the SQL text
    }
  }
}

// Ids are AUTOINCREMENT: an id, once cited, never comes back as another document.
constexpr const char* kDocumentColumns =
    "SELECT d.id, c.name, d.title, d.source, d.content_hash, d.metadata, d.bytes, "
    "(SELECT count(*) FROM chunks WHERE doc_id = d.id), d.created_at, d.updated_at "
    "FROM documents d JOIN collections c ON c.id = d.collection_id ";

}  // namespace

const char* put_outcome_name(PutOutcome outcome) {
  switch (outcome) {
    case PutOutcome::kAdded:
      return "added";
    case PutOutcome::kReplaced:
      return "replaced";
    case PutOutcome::kUnchanged:
      return "unchanged";
    case PutOutcome::kDuplicate:
      return "duplicate";
  }
  return "added";
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size_t{len} * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

Status check_collection_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return make_error(ErrorKind::kInvalidInput, "a collection name is 1 to 64 characters");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok)
      return make_error(ErrorKind::kInvalidInput,
                        "a collection name has only letters, digits, '-', '_' and '.'");
  }
  return {};
}

struct Store::Impl {
  std::string path;  // "" for in-memory: every call then uses the writer connection
  std::string id;    // meta.store_id
  std::mutex write_mu;
  std::unique_ptr<Db> writer;

  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<std::unique_ptr<Db>> idle_readers;
  size_t open_readers = 0;

  // A connection for reading, returned to the pool when the lease ends.
  class Lease {
   public:
    Lease(Impl& impl, std::unique_ptr<Db> db) : impl_(impl), db_(std::move(db)) {}
    Lease(Impl& impl, Db* shared, std::unique_lock<std::mutex> lock)
        : impl_(impl), shared_(shared), lock_(std::move(lock)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (db_) {
        std::lock_guard<std::mutex> g(impl_.pool_mu);
        impl_.idle_readers.push_back(std::move(db_));
        impl_.pool_cv.notify_one();
      }
    }
    Db& db() { return db_ ? *db_ : *shared_; }

   private:
    Impl& impl_;
    std::unique_ptr<Db> db_;
    Db* shared_ = nullptr;
    std::unique_lock<std::mutex> lock_;
  };

  static Status configure(Db& db, bool writer_conn) {
    if (Status s = sql::register_fts_tokenizer(db); !s) return s;
    if (Status s = db.exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"); !s) return s;
    if (!writer_conn) return {};
    auto mode = db.prepare("PRAGMA journal_mode=WAL");
    if (!mode) return mode.error();
    auto row = mode->step();
    if (!row) return row.error();
    const std::string got = *row ? mode->text(0) : "";
    if (got != "wal" && got != "memory")
      return make_error(
          ErrorKind::kIo,
          "cannot use write-ahead logging on this file system (journal mode '" + got + "')");
    return {};
  }

  Result<Lease> read() {
    if (path.empty()) return Lease(*this, writer.get(), std::unique_lock<std::mutex>(write_mu));
    std::unique_lock<std::mutex> lock(pool_mu);
    pool_cv.wait(lock, [&] { return !idle_readers.empty() || open_readers < kMaxReaders; });
    if (!idle_readers.empty()) {
      auto db = std::move(idle_readers.back());
      idle_readers.pop_back();
      return Lease(*this, std::move(db));
    }
    ++open_readers;
    lock.unlock();
    auto db = Db::open(path, false);
    Status s = db ? configure(**db, false) : Status(db.error());
    if (!s) {
      std::lock_guard<std::mutex> g(pool_mu);
      --open_readers;
      pool_cv.notify_one();
      return s.error();
    }
    return Lease(*this, std::move(*db));
  }

  Result<int64_t> collection_id(Db& db, const std::string& name, bool create) {
    if (create) {
      auto ins = db.prepare("INSERT OR IGNORE INTO collections(name, created_at) VALUES(?, ?)");
      if (!ins) return ins.error();
      if (Status s = ins->bind(1, name).bind(2, now_seconds()).run(); !s) return s.error();
    }
    auto q = db.prepare("SELECT id FROM collections WHERE name = ?");
    if (!q) return q.error();
    q->bind(1, name);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return unknown_collection(name);
    return q->int64(0);
  }

  // Deletes a document's chunks and their FTS entries (FTS first: it needs the indexed values).
  // The chunks_removed trigger counts them against the collection (collection_removals):
  // derived indexes that see the count unchanged know that nothing was deleted.
  static Status delete_chunks(Db& db, int64_t doc_id) {
    auto fts = db.prepare(
        "INSERT INTO chunks_fts(chunks_fts, rowid, title, body) "
        "SELECT 'delete', id, title, body FROM chunk_texts "
        "WHERE id IN (SELECT id FROM chunks WHERE doc_id = ?)");
    if (!fts) return fts.error();
    if (Status s = fts->bind(1, doc_id).run(); !s) return s;
    auto del = db.prepare("DELETE FROM chunks WHERE doc_id = ?");
    if (!del) return del.error();
    return del->bind(1, doc_id).run();  // the chunks_removed trigger counts them
  }

  // Every change to a collection's chunks bumps its generation, in the same transaction, so
  // that indexes derived from the chunks (dense vectors) can tell they are stale, in any process.
  static Status bump_generation(Db& db, int64_t collection_id) {
    auto up = db.prepare("UPDATE collections SET generation = generation + 1 WHERE id = ?");
    if (!up) return up.error();
    return up->bind(1, collection_id).run();
  }

  // The FTS row of each chunk gets the values the chunk_texts view gives (which the 'delete' in
  // delete_chunks and the 'rebuild' read back), bound directly: an INSERT ... SELECT into FTS5
  // opens a statement savepoint, and FTS5 flushes its pending terms to a new segment at every
  // savepoint, so selecting from the view made one segment per chunk and merged constantly.
  static Status insert_chunks(Db& db, int64_t doc_id, const std::string& doc_title,
                              const std::vector<Chunk>& chunks) {
    auto ins = db.prepare(
        "INSERT INTO chunks(doc_id, seq, section, text, start_byte, end_byte) "
        "VALUES(?, ?, ?, ?, ?, ?)");
    if (!ins) return ins.error();
    auto fts = db.prepare("INSERT INTO chunks_fts(rowid, title, body) VALUES(?, ?, ?)");
    if (!fts) return fts.error();
    for (size_t i = 0; i < chunks.size(); ++i) {
      const Chunk& c = chunks[i];
      ins->reset();
      ins->bind(1, doc_id).bind(2, static_cast<int64_t>(i)).bind(3, c.section).bind(4, c.text);
      ins->bind(5, static_cast<int64_t>(c.start)).bind(6, static_cast<int64_t>(c.end));
      if (Status s = ins->run(); !s) return s;
      const std::string title = c.section.empty() ? doc_title : doc_title + " / " + c.section;
      fts->reset();
      fts->bind(1, db.last_insert_id()).bind(2, title).bind(3, c.text);
      if (Status s = fts->run(); !s) return s;
    }
    return {};
  }

  // The FTS index is only consistent with the tokenizer that built it (deletes re-tokenize the
  // stored text). A data directory built by another tokenizer version is re-indexed on open.
  static Status check_tokenizer_version(Db& db) {
    auto q = db.prepare("SELECT value FROM meta WHERE key = 'tokenizer_version'");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    const std::string want = std::to_string(kTokenizerVersion);
    if (*row && q->text(0) == want) return {};
    if (*row) {
      if (Status s = db.exec("INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild')"); !s) return s;
    }
    auto set = db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES('tokenizer_version', ?)");
    if (!set) return set.error();
    return set->bind(1, want).run();
  }

  Result<PutResult> put_in_tx(Db& db, const DocumentInput& doc, const std::vector<Chunk>& chunks);

  // A chunk row selected as (id, doc_id, title, source, section, text, ...).
  static SearchHit read_hit(const Stmt& r) {
    SearchHit h;
    h.chunk_id = r.int64(0);
    h.doc_id = r.int64(1);
    h.title = r.text(2);
    h.source = r.text(3);
    h.section = r.text(4);
    h.text = r.text(5);
    return h;
  }

  // One row about a collection, by name (the query's one parameter); kNotFound when unknown.
  Status read_collection(const std::string& name, std::string_view sql,
                         const std::function<void(const Stmt&)>& fill) {
    auto lease = read();
    if (!lease) return lease.error();
    auto q = lease->db().prepare(sql);
    if (!q) return q.error();
    q->bind(1, name);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return unknown_collection(name);
    fill(*q);
    return {};
  }

  // The chunks with these ids, in this order; ids that no longer exist are skipped.
  static Result<std::vector<SearchHit>> hits_by_id(Db& db, const std::vector<int64_t>& ids) {
    std::vector<SearchHit> out;
    auto q = db.prepare(
        "SELECT c.id, c.doc_id, d.title, d.source, c.section, c.text FROM chunks c "
        "JOIN documents d ON d.id = c.doc_id WHERE c.id = ?");
    if (!q) return q.error();
    for (const int64_t id : ids) {
      q->reset();
      q->bind(1, id);
      if (Status s = q->each([&](const Stmt& r) { out.push_back(read_hit(r)); }); !s)
        return s.error();
    }
    return out;
  }

  static DocumentInfo read_document(const Stmt& q) {
    DocumentInfo d;
    d.id = q.int64(0);
    d.collection = q.text(1);
    d.title = q.text(2);
    d.source = q.text(3);
    d.content_hash = q.text(4);
    d.metadata_json = q.text(5);
    d.bytes = q.int64(6);
    d.chunks = q.int64(7);
    d.created_at = q.int64(8);
    d.updated_at = q.int64(9);
    return d;
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir) {
  auto impl = std::make_unique<Impl>();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return make_error(ErrorKind::kIo,
                        "cannot create data directory " + dir.string() + ": " + ec.message());
    impl->path = (dir / "chaja.db").string();
  }
  auto db = Db::open(impl->path.empty() ? ":memory:" : impl->path, false);
  if (!db) return db.error();
  impl->writer = std::move(*db);
  Db& w = *impl->writer;
  if (Status s = Impl::configure(w, true); !s) return s.error();
  {
    Transaction tx(w);
    if (Status s = tx.begin(); !s) return s.error();
    if (Status s = w.exec(kSchema); !s) return s.error();
    auto version = w.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
    if (!version) return version.error();
    auto row = version->step();
    if (!row) return row.error();
    const std::string found = *row ? version->text(0) : std::to_string(kSchemaVersion);
    if (found == "1") {  // v1 -> v2: the collection generation counter
      if (Status s =
              w.exec("ALTER TABLE collections ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;");
          !s)
        return s.error();
    }
    if (found == "1" || found == "2") {  // v2 -> v3: the embedder a collection was built with
      if (Status s =
              w.exec("ALTER TABLE collections ADD COLUMN embedder TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE collections ADD COLUMN dimension INTEGER NOT NULL DEFAULT 0;");
          !s)
        return s.error();
    }
    // v3 -> v4: the deleted-chunk counts, kept by a trigger (kSchema created both); older
    // binaries, which would delete without counting, now refuse the store.
    if (found == "1" || found == "2" || found == "3") {
      if (Status s = w.exec("UPDATE meta SET value = '4' WHERE key = 'schema_version';"); !s)
        return s.error();
    } else if (found != std::to_string(kSchemaVersion))
      return make_error(ErrorKind::kConflict, "the data directory has schema version " + found +
                                                  "; this chaja reads version " +
                                                  std::to_string(kSchemaVersion));
    auto set = w.prepare("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)");
    if (!set) return set.error();
    if (Status s = set->bind(1, std::to_string(kSchemaVersion)).run(); !s) return s.error();
    // A random identity, made once: derived files kept beside a store (the vector cache) are
    // never mistaken for another store's, e.g. after chaja.db was deleted and re-created.
    auto ident = w.prepare(
        "INSERT OR IGNORE INTO meta(key, value) VALUES('store_id', lower(hex(randomblob(16))))");
    if (!ident) return ident.error();
    if (Status s = ident->run(); !s) return s.error();
    auto read_id = w.prepare("SELECT value FROM meta WHERE key = 'store_id'");
    if (!read_id) return read_id.error();
    if (auto r = read_id->step(); !r || !*r) return make_error(ErrorKind::kIo, "no store id");
    impl->id = read_id->text(0);
    if (auto id = impl->collection_id(w, kDefaultCollection, true); !id) return id.error();
    if (Status s = Impl::check_tokenizer_version(w); !s) return s.error();
    if (Status s = tx.commit(); !s) return s.error();
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

// Writes one document inside the caller's transaction, on the writer connection.
Result<PutResult> Store::Impl::put_in_tx(Db& db, const DocumentInput& doc,
                                         const std::vector<Chunk>& chunks) {
  const std::string hash = sha256_hex(doc.text);
  if (hash.empty()) return make_error(ErrorKind::kInternal, "SHA-256 failed (OpenSSL)");
  const std::string source = doc.source.empty() ? "sha256:" + hash.substr(0, 16) : doc.source;
  auto coll = collection_id(db, doc.collection, true);
  if (!coll) return coll.error();

  PutResult result;
  int64_t existing = 0;
  {
    auto q = db.prepare(
        "SELECT id, content_hash, (SELECT count(*) FROM chunks WHERE doc_id = documents.id), "
        "       title, metadata "
        "FROM documents WHERE collection_id = ? AND source = ?");
    if (!q) return q.error();
    q->bind(1, *coll).bind(2, source);
    auto row = q->step();
    if (!row) return row.error();
    if (*row) {
      existing = q->int64(0);
      // A new title or new metadata is a change too (the title is indexed with every chunk).
      if (q->text(1) == hash && q->text(3) == doc.title && q->text(4) == doc.metadata_json) {
        return PutResult{existing, static_cast<size_t>(q->int64(2)), PutOutcome::kUnchanged};
      }
    }
  }
  if (existing == 0) {
    auto q = db.prepare(
        "SELECT id, (SELECT count(*) FROM chunks WHERE doc_id = documents.id) FROM documents "
        "WHERE collection_id = ? AND content_hash = ? LIMIT 1");
    if (!q) return q.error();
    q->bind(1, *coll).bind(2, hash);
    auto row = q->step();
    if (!row) return row.error();
    if (*row)
      return PutResult{q->int64(0), static_cast<size_t>(q->int64(1)), PutOutcome::kDuplicate};
  }

  const int64_t now = now_seconds();
  if (existing != 0) {
    if (Status s = delete_chunks(db, existing); !s) return s.error();
    auto up = db.prepare(
        "UPDATE documents SET title = ?, content_hash = ?, metadata = ?, bytes = ?, updated_at = ? "
        "WHERE id = ?");
    if (!up) return up.error();
    up->bind(1, doc.title).bind(2, hash).bind(3, doc.metadata_json);
    up->bind(4, static_cast<int64_t>(doc.text.size())).bind(5, now).bind(6, existing);
    if (Status s = up->run(); !s) return s.error();
    result.doc_id = existing;
    result.outcome = PutOutcome::kReplaced;
  } else {
    auto ins = db.prepare(
        "INSERT INTO documents(collection_id, title, source, content_hash, metadata, bytes, "
        "created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins) return ins.error();
    ins->bind(1, *coll).bind(2, doc.title).bind(3, source).bind(4, hash).bind(5, doc.metadata_json);
    ins->bind(6, static_cast<int64_t>(doc.text.size())).bind(7, now).bind(8, now);
    if (Status s = ins->run(); !s) return s.error();
    result.doc_id = db.last_insert_id();
    result.outcome = PutOutcome::kAdded;
  }
  if (Status s = insert_chunks(db, result.doc_id, doc.title, chunks); !s) return s.error();
  if (Status s = bump_generation(db, *coll); !s) return s.error();
  result.chunks = chunks.size();
  return result;
}

Result<PutResult> Store::put(const DocumentInput& doc, const std::vector<Chunk>& chunks) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  Db& db = *impl_->writer;
  Transaction tx(db);
  if (Status s = tx.begin(); !s) return s.error();
  auto result = impl_->put_in_tx(db, doc, chunks);
  if (!result) return result.error();
  if (Status s = tx.commit(); !s) return s.error();
  return result;
}

Result<std::vector<PutResult>> Store::put_batch(const std::vector<NewDocument>& docs) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  Db& db = *impl_->writer;
  Transaction tx(db);
  if (Status s = tx.begin(); !s) return s.error();
  std::vector<PutResult> results;
  results.reserve(docs.size());
  for (const NewDocument& d : docs) {
    auto r = impl_->put_in_tx(db, d.input, d.chunks);
    if (!r) return r.error();  // the whole batch rolls back
    results.push_back(*r);
  }
  if (Status s = tx.commit(); !s) return s.error();
  return results;
}

Result<std::vector<DocumentInfo>> Store::list(const std::string& collection, size_t limit,
                                              size_t offset) {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  Db& db = lease->db();
  auto coll = impl_->collection_id(db, collection, false);
  if (!coll) return coll.error();
  auto q = db.prepare(std::string(kDocumentColumns) +
                      "WHERE d.collection_id = ? ORDER BY d.id LIMIT ? OFFSET ?");
  if (!q) return q.error();
  q->bind(1, *coll).bind(2, static_cast<int64_t>(limit)).bind(3, static_cast<int64_t>(offset));
  std::vector<DocumentInfo> out;
  if (Status s = q->each([&](const Stmt& r) { out.push_back(Impl::read_document(r)); }); !s)
    return s.error();
  return out;
}

Result<DocumentInfo> Store::get(int64_t doc_id) {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  auto q = lease->db().prepare(std::string(kDocumentColumns) + "WHERE d.id = ?");
  if (!q) return q.error();
  q->bind(1, doc_id);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return unknown_document(doc_id);
  return Impl::read_document(*q);
}

Result<std::string> Store::text_of(int64_t doc_id) {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  auto q = lease->db().prepare(
      "SELECT text, start_byte, end_byte FROM chunks WHERE doc_id = ? ORDER BY seq");
  if (!q) return q.error();
  q->bind(1, doc_id);
  std::string out;
  int64_t covered = 0;  // the document's bytes [0, covered) are in out
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::string text = q->text(0);
    const int64_t start = q->int64(1), end = q->int64(2);
    if (end <= covered) continue;
    if (start > covered && !out.empty()) out += start - covered > 1 ? "\n\n" : " ";
    const auto skip = static_cast<size_t>(std::max<int64_t>(0, covered - start));
    if (skip < text.size()) out.append(text, skip);
    covered = end;
  }
  return out;
}

Status Store::check_integrity() {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  Db& db = *impl_->writer;
  auto q = db.prepare("PRAGMA integrity_check");
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  if (!*row || q->text(0) != "ok")
    return make_error(ErrorKind::kInternal,
                      "integrity_check: " + (*row ? q->text(0) : std::string("no answer")));
  if (Status s = db.exec("INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check')"); !s)
    return make_error(ErrorKind::kInternal, "full-text index: " + s.error().message);
  // FTS5 keeps one docsize row per indexed rowid.
  auto diff = db.prepare(
      "SELECT (SELECT count(*) FROM chunks WHERE id NOT IN (SELECT id FROM chunks_fts_docsize)),"
      "       (SELECT count(*) FROM chunks_fts_docsize WHERE id NOT IN (SELECT id FROM chunks))");
  if (!diff) return diff.error();
  auto counts = diff->step();
  if (!counts) return counts.error();
  if (!*counts) return make_error(ErrorKind::kInternal, "no answer from the chunk count");
  const int64_t missing = diff->int64(0), extra = diff->int64(1);
  if (missing != 0 || extra != 0)
    return make_error(ErrorKind::kInternal, "full-text index: " + std::to_string(missing) +
                                                " chunks not indexed, " + std::to_string(extra) +
                                                " indexed rows without a chunk");
  return {};
}

Status Store::remove(int64_t doc_id) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  Db& db = *impl_->writer;
  Transaction tx(db);
  if (Status s = tx.begin(); !s) return s;
  int64_t collection_id = 0;
  {
    auto coll = db.prepare("SELECT collection_id FROM documents WHERE id = ?");
    if (!coll) return coll.error();
    coll->bind(1, doc_id);
    auto row = coll->step();
    if (!row) return row.error();
    if (*row) {
      collection_id = coll->int64(0);
      if (Status s = Impl::bump_generation(db, collection_id); !s) return s;
    }
  }
  if (Status s = Impl::delete_chunks(db, doc_id); !s) return s;
  auto del = db.prepare("DELETE FROM documents WHERE id = ?");
  if (!del) return del.error();
  if (Status s = del->bind(1, doc_id).run(); !s) return s;
  if (db.changes() == 0) return unknown_document(doc_id);
  return tx.commit();
}

Result<AllowedDocuments> Store::filter_documents(const std::string& collection,
                                                 const MetadataFilter& filter) {
  if (Status s = check_metadata_filter(filter); !s) return s.error();
  auto lease = impl_->read();
  if (!lease) return lease.error();
  Db& db = lease->db();
  auto coll = impl_->collection_id(db, collection, false);
  if (!coll) return coll.error();
  const FilterSql f = filter_sql(filter);
  // Documents drive the join (CROSS JOIN fixes the order): each is tested once, then its chunks
  // come from chunks_by_doc. Metadata that is not JSON (never written so) matches nothing
  // rather than failing the query.
  auto q = db.prepare(
      "SELECT c.id, c.doc_id FROM documents d CROSS JOIN chunks c ON c.doc_id = d.id "
      "WHERE d.collection_id = ? AND CASE WHEN json_valid(d.metadata) THEN (1" +
      f.condition + ") ELSE 0 END");
  if (!q) return q.error();
  q->bind(1, *coll);
  bind_filter(*q, 2, f);
  AllowedDocuments out;
  Status s = q->each([&](const Stmt& r) {
    out.chunks.push_back(r.int64(0));
    out.docs.insert(r.int64(1));
  });
  if (!s) return s.error();
  std::sort(out.chunks.begin(), out.chunks.end());
  return out;
}

Result<std::vector<SearchHit>> Store::search(const SearchRequest& request) {
  std::shared_ptr<const AllowedDocuments> allowed = request.allowed;
  if (!allowed && !request.filter.empty()) {
    auto resolved = filter_documents(request.collection, request.filter);
    if (!resolved) return resolved.error();
    allowed = std::make_shared<const AllowedDocuments>(std::move(*resolved));
  }
  auto lease = impl_->read();
  if (!lease) return lease.error();
  Db& db = lease->db();
  auto coll = impl_->collection_id(db, request.collection, false);
  if (!coll) return coll.error();
  std::vector<SearchHit> hits;
  if (allowed && allowed->docs.empty()) return hits;
  const std::string expr = match_expression(useful_terms(db, query_terms(request.query)));
  if (expr.empty() || request.k == 0) return hits;
  // Two stages. FTS5 alone ranks every match (bm25 weights: body fully, the title with the
  // section heading half); joining each match to its chunk and document, or carrying its text
  // through the sort, would cost more than the scoring. Only the best matches are then looked
  // up, in rank order, until k pass the collection filter and the per-document cap.
  auto ranked = db.prepare(
      "SELECT rowid, bm25(chunks_fts, 0.5, 1.0) AS r FROM chunks_fts WHERE chunks_fts MATCH ? "
      "ORDER BY r LIMIT ?");
  auto owner = db.prepare(
      "SELECT c.doc_id, d.collection_id FROM chunks c JOIN documents d ON d.id = c.doc_id "
      "WHERE c.id = ?");
  if (!ranked) return ranked.error();
  if (!owner) return owner.error();
  struct Pick {
    int64_t chunk_id;
    int64_t doc_id;
    double score;
  };
  std::vector<Pick> picks;
  std::unordered_map<int64_t, size_t> per_document;
  // Most stores hold one collection, where the first k * 8 matches always suffice; with a cap or
  // other collections' chunks in the way, the window grows until k are found or matches end.
  for (int64_t pool = static_cast<int64_t>(std::max<size_t>(request.k * 8, 64));; pool *= 8) {
    picks.clear();
    per_document.clear();
    ranked->reset();
    ranked->bind(1, expr).bind(2, pool);
    int64_t seen = 0;
    while (picks.size() < request.k) {
      auto row = ranked->step();
      if (!row) return row.error();
      if (!*row) break;
      ++seen;
      owner->reset();
      owner->bind(1, ranked->int64(0));
      auto o = owner->step();
      if (!o) return o.error();
      if (!*o || owner->int64(1) != *coll) continue;
      const int64_t doc = owner->int64(0);
      if (allowed && !allowed->allows(doc)) continue;
      if (request.per_document_cap > 0 && ++per_document[doc] > request.per_document_cap) continue;
      picks.push_back({ranked->int64(0), doc, -ranked->real(1)});
    }
    if (picks.size() == request.k || seen < pool) break;
  }
  std::vector<int64_t> ids;
  ids.reserve(picks.size());
  for (const Pick& p : picks) ids.push_back(p.chunk_id);
  // The same snapshot as the ranking: every pick is still there, in order.
  auto rows = Impl::hits_by_id(db, ids);
  if (!rows) return rows.error();
  hits = std::move(*rows);
  for (size_t i = 0; i < hits.size() && i < picks.size(); ++i) hits[i].score = picks[i].score;
  return hits;
}

Result<std::vector<SearchHit>> Store::chunks_by_id(const std::vector<int64_t>& chunk_ids) {
  if (chunk_ids.empty()) return std::vector<SearchHit>{};
  auto lease = impl_->read();
  if (!lease) return lease.error();
  return Impl::hits_by_id(lease->db(), chunk_ids);
}

Status Store::for_each_chunk(const std::string& collection,
                             const std::function<void(const ChunkRow&)>& fn, int64_t after_id) {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  Db& db = lease->db();
  auto coll = impl_->collection_id(db, collection, false);
  if (!coll) return coll.error();
  // Chunks drive the join (CROSS JOIN fixes the order), so the id range is a rowid range and a
  // catch-up reads only the new rows; the title is the chunk_texts view's.
  auto q = db.prepare(
      "SELECT c.id, c.doc_id, d.title || CASE WHEN c.section <> '' THEN ' / ' || c.section "
      "ELSE '' END, c.text FROM chunks c CROSS JOIN documents d ON d.id = c.doc_id "
      "WHERE c.id > ? AND d.collection_id = ? ORDER BY c.id");
  if (!q) return q.error();
  q->bind(1, after_id).bind(2, *coll);
  ChunkRow row;
  return q->each([&](const Stmt& r) {
    row.chunk_id = r.int64(0);
    row.doc_id = r.int64(1);
    row.title = r.text(2);
    row.text = r.text(3);
    fn(row);
  });
}

Result<std::vector<std::pair<int64_t, int64_t>>> Store::chunk_ids(const std::string& collection) {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  Db& db = lease->db();
  auto coll = impl_->collection_id(db, collection, false);
  if (!coll) return coll.error();
  auto q = db.prepare(
      "SELECT c.id, c.doc_id FROM chunks c JOIN documents d ON d.id = c.doc_id "
      "WHERE d.collection_id = ? ORDER BY c.id");
  if (!q) return q.error();
  q->bind(1, *coll);
  std::vector<std::pair<int64_t, int64_t>> out;
  if (Status s = q->each([&](const Stmt& r) { out.emplace_back(r.int64(0), r.int64(1)); }); !s)
    return s.error();
  return out;
}

namespace {
class FtsTermCutter final : public Store::TermCutter {
 public:
  explicit FtsTermCutter(std::unique_ptr<sql::IndexTokenizer> t) : tokenizer_(std::move(t)) {}
  void cut(std::string_view text, std::vector<std::string>& out) override {
    tokenizer_->cut(text, out);
  }

 private:
  std::unique_ptr<sql::IndexTokenizer> tokenizer_;
};
}  // namespace

Result<std::unique_ptr<Store::TermCutter>> Store::term_cutter() {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  auto tokenizer = sql::IndexTokenizer::create(lease->db());
  if (!tokenizer) return tokenizer.error();
  return std::unique_ptr<TermCutter>(new FtsTermCutter(std::move(*tokenizer)));
}

Result<std::string> Store::bound_embedder(const std::string& collection) {
  std::string out;
  Status s = impl_->read_collection(collection, "SELECT embedder FROM collections WHERE name = ?",
                                    [&](const Stmt& q) { out = q.text(0); });
  if (!s) return s.error();
  return out;
}

Status Store::bind_embedder(const std::string& collection, const std::string& embedder,
                            size_t dimension) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  Db& db = *impl_->writer;
  Transaction tx(db);
  if (Status s = tx.begin(); !s) return s;
  // A collection named before anything is stored in it is created, bound from the start.
  if (auto id = impl_->collection_id(db, collection, true); !id) return id.error();
  auto q = db.prepare("SELECT embedder, dimension FROM collections WHERE name = ?");
  if (!q) return q.error();
  q->bind(1, collection);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return unknown_collection(collection);
  const std::string bound = q->text(0);
  const auto bound_dimension = static_cast<size_t>(q->int64(1));
  if (!bound.empty()) {
    if (bound == embedder && bound_dimension == dimension) return {};
    return make_error(ErrorKind::kConflict,
                      "collection '" + collection + "' was built with the embedder " + bound +
                          " (dimension " + std::to_string(bound_dimension) + "); this run uses " +
                          embedder + " (dimension " + std::to_string(dimension) +
                          "): use the same embedder, or index into a new collection");
  }
  auto up = db.prepare("UPDATE collections SET embedder = ?, dimension = ? WHERE name = ?");
  if (!up) return up.error();
  up->bind(1, embedder).bind(2, static_cast<int64_t>(dimension)).bind(3, collection);
  if (Status s = up->run(); !s) return s;
  return tx.commit();
}

const std::string& Store::id() const {
  return impl_->id;
}

Result<CollectionCounters> Store::counters(const std::string& collection) {
  CollectionCounters out;
  Status s = impl_->read_collection(
      collection,
      "SELECT c.generation, coalesce(r.chunks, 0) FROM collections c "
      "LEFT JOIN collection_removals r ON r.collection_id = c.id WHERE c.name = ?",
      [&](const Stmt& q) {
        out = {q.int64(0), q.int64(1)};
      });
  if (!s) return s.error();
  return out;
}

Result<std::optional<DocumentInfo>> Store::find_source(const std::string& collection,
                                                       const std::string& source) {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  auto q = lease->db().prepare(std::string(kDocumentColumns) + "WHERE c.name = ? AND d.source = ?");
  if (!q) return q.error();
  q->bind(1, collection);
  q->bind(2, source);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<DocumentInfo>();
  return std::optional<DocumentInfo>(Impl::read_document(*q));
}

Result<bool> Store::has_collection(const std::string& name) {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  auto id = impl_->collection_id(lease->db(), name, false);
  if (id) return true;
  if (id.error().kind == ErrorKind::kNotFound) return false;
  return id.error();
}

Error unknown_document(int64_t doc_id) {
  return make_error(ErrorKind::kNotFound, "no document with id " + std::to_string(doc_id));
}

Error unknown_collection(const std::string& name) {
  return make_error(ErrorKind::kNotFound, "unknown collection '" + name + "'");
}

Result<std::vector<CollectionInfo>> Store::collections() {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  auto q = lease->db().prepare(
      "SELECT c.name, count(d.id), coalesce(sum(d.bytes), 0), "
      "(SELECT count(*) FROM chunks k JOIN documents e ON e.id = k.doc_id "
      "WHERE e.collection_id = c.id) "
      "FROM collections c LEFT JOIN documents d ON d.collection_id = c.id "
      "GROUP BY c.id ORDER BY c.name");
  if (!q) return q.error();
  std::vector<CollectionInfo> out;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({q->text(0), q->int64(1), q->int64(3), q->int64(2)});
  }
  return out;
}

Result<StoreStats> Store::stats() {
  auto lease = impl_->read();
  if (!lease) return lease.error();
  auto q = lease->db().prepare(
      "SELECT (SELECT count(*) FROM collections), (SELECT count(*) FROM documents), "
      "(SELECT count(*) FROM chunks), (SELECT coalesce(sum(bytes), 0) FROM documents)");
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  return StoreStats{q->int64(0), q->int64(1), q->int64(2), q->int64(3)};
}

}  // namespace chaja
