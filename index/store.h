// The document store: SQLite (WAL) holding collections, documents, chunks and an FTS5 index with
// BM25 ranking, under one data directory. The only module that includes sqlite3.
//
// Thread safety: a Store is shared by all request threads. Writes are serialised on one writer
// connection; reads use a small pool of reader connections and run concurrently with a write
// (WAL). Durability: put/delete return only after COMMIT with synchronous=FULL, so an
// acknowledged write survives kill -9 and power loss.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "index/chunker.h"
#include "index/metadata_filter.h"
#include "index/result.h"

namespace chaja {

inline constexpr const char* kDefaultCollection = "default";

struct DocumentInput {
  std::string collection = kDefaultCollection;
  std::string title;
  std::string source;                // file path, URL or caller's id; "" → derived from the hash
  std::string text;                  // valid UTF-8, already extracted from its format
  std::string metadata_json = "{}";  // a JSON object, validated by the caller
};

struct NewDocument {
  DocumentInput input;
  std::vector<Chunk> chunks;
};

enum class PutOutcome {
  kAdded,      // a new document
  kReplaced,   // same source, new content: old chunks replaced in the same transaction
  kUnchanged,  // same source, same content: nothing written
  kDuplicate,  // same content already stored under another source: nothing written
};

const char* put_outcome_name(PutOutcome outcome);

struct PutResult {
  int64_t doc_id = 0;
  size_t chunks = 0;
  PutOutcome outcome = PutOutcome::kAdded;
};

struct DocumentInfo {
  int64_t id = 0;
  std::string collection;
  std::string title;
  std::string source;
  std::string content_hash;  // SHA-256 of the text, hex
  std::string metadata_json;
  int64_t bytes = 0;
  int64_t chunks = 0;
  int64_t created_at = 0;  // unix seconds
  int64_t updated_at = 0;
};

struct CollectionCounters {
  int64_t generation = 0;      // bumped by every write transaction
  int64_t removed_chunks = 0;  // chunks deleted or replaced, ever
};

struct SearchRequest {
  std::string query;
  size_t k = 10;
  std::string collection = kDefaultCollection;
  size_t per_document_cap = 0;  // at most this many chunks of one document (0: no cap)
  bool explain = false;         // report each ranking component (front doors only)
  MetadataFilter filter = {};   // only documents whose metadata matches (empty: every one)
  // The filter already resolved (Store::filter_documents), when one request searches several
  // times: used instead of resolving `filter` again.
  std::shared_ptr<const AllowedDocuments> allowed = nullptr;
};

struct SearchHit {
  int64_t chunk_id = 0;
  int64_t doc_id = 0;
  std::string title;
  std::string source;
  std::string section;
  std::string text;
  double score = 0;  // BM25, higher is better
};

// The error for a collection that does not exist (and, at the API, for one a key may not see:
// the two must read the same).
Error unknown_collection(const std::string& name);
Error unknown_document(int64_t doc_id);

// A collection with its size, as GET /v1/collections lists it.
struct CollectionInfo {
  std::string name;
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t bytes = 0;
};

struct StoreStats {
  int64_t collections = 0;
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t bytes = 0;
};

class Store {
 public:
  // Opens (creating if needed) <dir>/chaja.db. An empty dir opens a private in-memory store.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores a document with its chunks (from chunk_text). Dedup by content hash; a changed
  // document under the same source replaces the old one atomically.
  Result<PutResult> put(const DocumentInput& doc, const std::vector<Chunk>& chunks);

  // Stores several documents in one transaction: all or none. FTS5 merges its index far less
  // when many documents arrive per commit, so bulk ingest uses this.
  Result<std::vector<PutResult>> put_batch(const std::vector<NewDocument>& docs);

  Result<std::vector<DocumentInfo>> list(const std::string& collection, size_t limit,
                                         size_t offset);
  Result<DocumentInfo> get(int64_t doc_id);
  // The document's text, put back together from its chunks (they overlap; the white space
  // between two chunks that do not is shown as a space or a blank line).
  Result<std::string> text_of(int64_t doc_id);
  // Removes a document, its chunks and their FTS entries in one transaction. kNotFound if absent.
  Status remove(int64_t doc_id);
  // SQLite's integrity_check, FTS5's own check of its index, and that the full-text index holds
  // exactly the stored chunks (no chunk missing, none left over). kInternal naming the first
  // problem found. (SQLite 3.40's FTS5 check does not compare with external content, and a
  // chunk's indexed terms are not re-derived here.)
  Status check_integrity();

  // BM25 over the collection. kNotFound for an unknown collection; no hits is not an error.
  Result<std::vector<SearchHit>> search(const SearchRequest& request);

  // The documents of a collection whose metadata matches the filter, and their chunks, in one
  // snapshot. kNotFound for an unknown collection. Cost: one pass over the collection's
  // documents (json_extract on each), then an index lookup of the matches' chunks.
  Result<AllowedDocuments> filter_documents(const std::string& collection,
                                            const MetadataFilter& filter);

  // The chunks with these ids (those that still exist), with their documents' title and source.
  Result<std::vector<SearchHit>> chunks_by_id(const std::vector<int64_t>& chunk_ids);

  // Every chunk of a collection in id order, for building derived indexes (vectors, statistics).
  struct ChunkRow {
    int64_t chunk_id = 0;
    int64_t doc_id = 0;
    std::string title;  // the document's title, with the chunk's section when it has one
    std::string text;
  };
  // Only chunks with ids above after_id: ids are AUTOINCREMENT, so these are the ones written
  // since a derived index last saw after_id as its highest.
  Status for_each_chunk(const std::string& collection,
                        const std::function<void(const ChunkRow&)>& fn, int64_t after_id = 0);

  // (chunk id, document id) of every chunk of a collection, in chunk id order.
  Result<std::vector<std::pair<int64_t, int64_t>>> chunk_ids(const std::string& collection);

  // Cuts text into the terms the full-text index holds for it: Chaja's tokenizer, then FTS5's
  // porter stemmer. Derived lexical indexes use it to agree with FTS5 term for term. One per
  // thread.
  class TermCutter {
   public:
    virtual ~TermCutter() = default;
    virtual void cut(std::string_view text, std::vector<std::string>& out) = 0;
  };
  Result<std::unique_ptr<TermCutter>> term_cutter();

  // The collection's generation (changes whenever its chunks change, committed with them) and
  // how many chunks were ever deleted from it, read together.
  Result<CollectionCounters> counters(const std::string& collection);

  // Records the embedder a collection's vectors come from, the first time (creating the
  // collection if needed); afterwards kConflict when another embedder or dimension is used on
  // it (vectors of two models never mix).
  Status bind_embedder(const std::string& collection, const std::string& embedder,
                       size_t dimension);
  // The embedder a collection was bound to, "" when none yet.
  Result<std::string> bound_embedder(const std::string& collection);

  Result<bool> has_collection(const std::string& name);
  // The document stored under `source` in the collection, if any (what DELETE by source and a
  // re-ingest address).
  Result<std::optional<DocumentInfo>> find_source(const std::string& collection,
                                                  const std::string& source);
  // Every collection, by name, with its document and chunk counts.
  Result<std::vector<CollectionInfo>> collections();
  // This store's random identity (hex), made when it was created and kept for its life.
  const std::string& id() const;
  Result<StoreStats> stats();

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Hex SHA-256 of bytes.
std::string sha256_hex(std::string_view bytes);

// Checks a collection name: 1..64 characters of letters, digits, '-', '_' and '.'
// (kInvalidInput otherwise). Every front door and the key store use this one rule.
Status check_collection_name(const std::string& name);

}  // namespace chaja
