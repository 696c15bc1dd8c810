#include "index/store.h"

#include <sqlite3.h>

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "index/test_util.h"

using namespace chaja;

namespace {

DocumentInput doc(const std::string& source, const std::string& text,
                  const std::string& title = "T") {
  DocumentInput d;
  d.title = title;
  d.source = source;
  d.text = text;
  return d;
}

std::unique_ptr<Store> memory_store() {
  auto s = Store::open("");
  REQUIRE(s.ok());
  return std::move(*s);
}

size_t count_hits(Store& store, const std::string& q) {
  auto hits = store.search({q, 10, kDefaultCollection});
  REQUIRE(hits.ok());
  return hits->size();
}

}  // namespace

TEST_CASE("store round trip: put, get, list, search", "[store]") {
  auto store = memory_store();
  const auto d = doc("a.txt", "반도체 시장이 커진다. 언어모델의 발전이 빠르다.", "시장 보고서");
  auto put = store->put(d, chunk_text(d.text));
  REQUIRE(put.ok());
  CHECK(put->outcome == PutOutcome::kAdded);
  CHECK(put->chunks == 1);

  auto got = store->get(put->doc_id);
  REQUIRE(got.ok());
  CHECK(got->title == "시장 보고서");
  CHECK(got->source == "a.txt");
  CHECK(got->chunks == 1);
  CHECK(got->content_hash == sha256_hex(d.text));
  CHECK(got->metadata_json == "{}");

  auto list = store->list(kDefaultCollection, 10, 0);
  REQUIRE(list.ok());
  CHECK(list->size() == 1);

  auto hits = store->search({"모델", 5, kDefaultCollection});
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].doc_id == put->doc_id);
  CHECK((*hits)[0].title == "시장 보고서");
  CHECK((*hits)[0].score > 0);
}

TEST_CASE("same content is stored once; same source and content is unchanged", "[store]") {
  auto store = memory_store();
  const auto d = doc("a.txt", "The Vantor kettle boils one litre in 94 seconds.");
  auto first = store->put(d, chunk_text(d.text));
  REQUIRE(first.ok());
  auto again = store->put(d, chunk_text(d.text));
  REQUIRE(again.ok());
  CHECK(again->outcome == PutOutcome::kUnchanged);
  CHECK(again->doc_id == first->doc_id);
  auto copy = store->put(doc("copy-of-a.txt", d.text), chunk_text(d.text));
  REQUIRE(copy.ok());
  CHECK(copy->outcome == PutOutcome::kDuplicate);
  CHECK(copy->doc_id == first->doc_id);
  CHECK(store->stats()->documents == 1);
}

TEST_CASE("a changed document replaces its old chunks", "[store]") {
  auto store = memory_store();
  const auto v1 = doc("notes.md", "The launch date is in March. The codename is Falcon.");
  auto a = store->put(v1, chunk_text(v1.text));
  REQUIRE(a.ok());
  const auto v2 = doc("notes.md", "The launch date moved to June. The codename is Heron.", "T2");
  auto b = store->put(v2, chunk_text(v2.text));
  REQUIRE(b.ok());
  CHECK(b->outcome == PutOutcome::kReplaced);
  CHECK(b->doc_id == a->doc_id);
  CHECK(count_hits(*store, "Falcon") == 0);
  CHECK(count_hits(*store, "Heron") == 1);
  CHECK(store->get(a->doc_id)->title == "T2");
  CHECK(store->stats()->chunks == 1);
}

TEST_CASE("delete removes a document from search at once", "[store]") {
  auto store = memory_store();
  const auto d = doc("x", "Ardmore lighthouse was lit in 1874.");
  auto put = store->put(d, chunk_text(d.text));
  REQUIRE(put.ok());
  CHECK(count_hits(*store, "Ardmore") == 1);
  REQUIRE(store->remove(put->doc_id).ok());
  CHECK(count_hits(*store, "Ardmore") == 0);
  CHECK(store->get(put->doc_id).error().kind == ErrorKind::kNotFound);
  CHECK(store->remove(put->doc_id).error().kind == ErrorKind::kNotFound);
  CHECK(store->stats()->chunks == 0);
}

TEST_CASE("collections are separate; an unknown one is not found", "[store]") {
  auto store = memory_store();
  auto d = doc("x", "Only in legal.");
  d.collection = "legal";
  REQUIRE(store->put(d, chunk_text(d.text)).ok());
  CHECK(count_hits(*store, "legal") == 0);
  auto hits = store->search({"legal", 5, "legal"});
  REQUIRE(hits.ok());
  CHECK(hits->size() == 1);
  auto missing = store->search({"legal", 5, "nope"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);
  CHECK(*store->has_collection("legal"));
  CHECK_FALSE(*store->has_collection("nope"));
}

TEST_CASE("queries with no searchable term return nothing, not an error", "[store]") {
  auto store = memory_store();
  auto hits = store->search({"?! ...", 5, kDefaultCollection});
  REQUIRE(hits.ok());
  CHECK(hits->empty());
  // FTS5 syntax in a query is only ever text.
  auto syntax = store->search({"\"unbalanced AND OR NEAR( *", 5, kDefaultCollection});
  REQUIRE(syntax.ok());
}

TEST_CASE("a file store persists across reopen, in WAL mode", "[store]") {
  test::TempDir dir;
  int64_t id = 0;
  {
    auto store = Store::open(dir.path());
    REQUIRE(store.ok());
    const auto d = doc("p", "Persisted sentence about the Greywick tower.");
    auto put = (*store)->put(d, chunk_text(d.text));
    REQUIRE(put.ok());
    id = put->doc_id;
    CHECK(std::filesystem::exists(dir.path() / "chaja.db-wal"));
  }
  auto store = Store::open(dir.path());
  REQUIRE(store.ok());
  CHECK((*store)->get(id).ok());
  auto hits = (*store)->search({"Greywick", 5, kDefaultCollection});
  REQUIRE(hits.ok());
  CHECK(hits->size() == 1);
}

TEST_CASE("concurrent readers and a writer on a file store", "[store]") {
  test::TempDir dir;
  auto opened = Store::open(dir.path());
  REQUIRE(opened.ok());
  Store& store = **opened;
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (!store.search({"document", 5, kDefaultCollection}).ok()) ++errors;
    });
  }
  for (int i = 0; i < 50; ++i) {
    const auto d = doc("d" + std::to_string(i), "document number " + std::to_string(i) + " body.");
    if (!store.put(d, chunk_text(d.text)).ok()) ++errors;
  }
  for (auto& r : readers) r.join();
  CHECK(errors == 0);
  CHECK(store.stats()->documents == 50);
}

TEST_CASE("ids are never reused after a delete", "[store]") {
  auto store = memory_store();
  auto a = store->put(doc("a", "first text"), chunk_text("first text"));
  REQUIRE(a.ok());
  REQUIRE(store->remove(a->doc_id).ok());
  auto b = store->put(doc("b", "second text"), chunk_text("second text"));
  REQUIRE(b.ok());
  CHECK(b->doc_id > a->doc_id);
}

TEST_CASE("a new title or new metadata replaces; only identical input is unchanged", "[store]") {
  auto store = memory_store();
  auto d = doc("s", "Same body text.", "Old title");
  REQUIRE(store->put(d, chunk_text(d.text)).ok());
  d.title = "New title";
  auto r = store->put(d, chunk_text(d.text));
  REQUIRE(r.ok());
  CHECK(r->outcome == PutOutcome::kReplaced);
  auto hits = store->search({"New title", 5, kDefaultCollection});
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].title == "New title");
  d.metadata_json = R"({"department":"legal"})";
  CHECK(store->put(d, chunk_text(d.text))->outcome == PutOutcome::kReplaced);
  CHECK(store->put(d, chunk_text(d.text))->outcome == PutOutcome::kUnchanged);
  CHECK(store->get(r->doc_id)->metadata_json == R"({"department":"legal"})");
}

TEST_CASE("a store built by another tokenizer version is re-indexed on open", "[store]") {
  test::TempDir dir;
  {
    auto store = Store::open(dir.path());
    REQUIRE(store.ok());
    REQUIRE((*store)->put(doc("k", "언어모델의 발전"), chunk_text("언어모델의 발전")).ok());
  }
  {
    // Pretend an older tokenizer built the index, and wipe the FTS data it would have left.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path() / "chaja.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "UPDATE meta SET value = '0' WHERE key = 'tokenizer_version';"
                         "DELETE FROM chunks_fts_data WHERE id > 10;",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = Store::open(dir.path());
  REQUIRE(store.ok());
  auto hits = (*store)->search({"모델", 5, kDefaultCollection});
  REQUIRE(hits.ok());
  CHECK(hits->size() == 1);
}

TEST_CASE("put_batch stores many documents in one transaction, deduplicating inside it",
          "[store]") {
  auto store = memory_store();
  std::vector<NewDocument> batch;
  for (int i = 0; i < 10; ++i) {
    NewDocument d{doc("s" + std::to_string(i), "batch document " + std::to_string(i % 5)), {}};
    d.chunks = chunk_text(d.input.text);
    batch.push_back(std::move(d));
  }
  auto r = store->put_batch(batch);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 10);
  size_t added = 0, duplicates = 0;
  for (const auto& p : *r) {
    added += p.outcome == PutOutcome::kAdded;
    duplicates += p.outcome == PutOutcome::kDuplicate;
  }
  CHECK(added == 5);
  CHECK(duplicates == 5);
  CHECK(store->stats()->documents == 5);
}

TEST_CASE("a version 1 data directory is migrated on open", "[store]") {
  test::TempDir dir;
  { REQUIRE(Store::open(dir.path()).ok()); }
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path() / "chaja.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "ALTER TABLE collections DROP COLUMN generation;"
                         "ALTER TABLE collections DROP COLUMN embedder;"
                         "ALTER TABLE collections DROP COLUMN dimension;"
                         "UPDATE meta SET value = '1' WHERE key = 'schema_version';",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = Store::open(dir.path());
  REQUIRE(store.ok());
  auto before = (*store)->counters(kDefaultCollection);
  REQUIRE(before.ok());
  REQUIRE((*store)->put(doc("g", "generation text"), chunk_text("generation text")).ok());
  CHECK((*store)->counters(kDefaultCollection)->generation == before->generation + 1);
}

TEST_CASE("a collection keeps the embedder it was built with", "[store]") {
  auto store = memory_store();
  REQUIRE(store->bind_embedder(kDefaultCollection, "builtin", 384).ok());
  REQUIRE(store->bind_embedder(kDefaultCollection, "builtin", 384).ok());
  auto other = store->bind_embedder(kDefaultCollection, "openai:text-embedding-3-small", 1536);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == ErrorKind::kConflict);
  CHECK(other.error().message.find("builtin (dimension 384)") != std::string::npos);
  // Naming a collection before anything is stored in it creates it, bound from the start.
  REQUIRE(store->bind_embedder("fresh", "ollama:nomic-embed-text", 768).ok());
  CHECK(*store->bound_embedder("fresh") == "ollama:nomic-embed-text");
}

TEST_CASE("counters: every write bumps the generation; deletions are counted", "[store]") {
  auto store = *Store::open("");
  const auto before = *store->counters(kDefaultCollection);
  DocumentInput d;
  d.source = "a";
  d.title = "A";
  d.text = "First version. Two sentences here.";
  const auto added = store->put(d, chunk_text(d.text));
  REQUIRE(added.ok());
  const auto after_add = *store->counters(kDefaultCollection);
  CHECK(after_add.generation > before.generation);
  CHECK(after_add.removed_chunks == before.removed_chunks);  // an append deletes nothing
  d.text = "Second version.";
  REQUIRE(store->put(d, chunk_text(d.text)).ok());  // replaces: the old chunks are deleted
  const auto after_replace = *store->counters(kDefaultCollection);
  CHECK(after_replace.removed_chunks == after_add.removed_chunks + int64_t(added->chunks));
  REQUIRE(store->remove(added->doc_id).ok());
  const auto after_remove = *store->counters(kDefaultCollection);
  CHECK(after_remove.removed_chunks == after_replace.removed_chunks + 1);
  CHECK(after_remove.generation > after_replace.generation);
  CHECK(store->counters("nope").error().kind == ErrorKind::kNotFound);
}

TEST_CASE("the full-text index stays consistent with the chunks through writes", "[store]") {
  test::TempDir dir;
  auto opened = Store::open(dir.path());
  REQUIRE(opened.ok());
  Store& store = **opened;
  const std::string md =
      "# 개요\n\n한빛반도체는 2009년에 설립되었다.\n\n## Plant\n\nThe plant opened in 2015.";
  REQUIRE(store.put(doc("a.md", md, "회사 소개"), chunk_text(md)).ok());
  REQUIRE(store.put(doc("b.txt", "plain text without sections"), chunk_text("plain text")).ok());
  REQUIRE(store.check_integrity().ok());
  // A replacement (new title and text) and a deletion must remove exactly what was indexed.
  const std::string md2 = md + "\n\n## Staff\n\n직원은 1,240명이다.";
  REQUIRE(store.put(doc("a.md", md2, "회사 소개 (개정)"), chunk_text(md2)).ok());
  auto b = store.find_source(kDefaultCollection, "b.txt");
  REQUIRE((b.ok() && b->has_value()));
  REQUIRE(store.remove((*b)->id).ok());
  CHECK(store.check_integrity().ok());
  CHECK(count_hits(store, "개정") >= 1);
  CHECK(count_hits(store, "plain") == 0);

  // A chunk deleted behind the full-text index's back leaves an indexed row without a chunk;
  // one added behind it, a chunk not indexed. Both are reported.
  auto tamper = [&](const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path() / "chaja.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  };
  tamper(
      "INSERT INTO chunks(doc_id, seq, text, start_byte, end_byte) "
      "SELECT doc_id, 99, 'stray', 0, 5 FROM chunks LIMIT 1");
  auto found = store.check_integrity();
  REQUIRE_FALSE(found.ok());
  CHECK_THAT(found.error().message, Catch::Contains("1 chunks not indexed"));
  tamper("DELETE FROM chunks WHERE seq IN (0, 99)");
  found = store.check_integrity();
  REQUIRE_FALSE(found.ok());
  CHECK_THAT(found.error().message, Catch::Contains("indexed rows without a chunk"));
}
