#include "index/backup.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "index/store.h"
#include "index/test_util.h"

using namespace chaja;
namespace fs = std::filesystem;

namespace {

DocumentInput doc(const std::string& source, const std::string& text) {
  DocumentInput d;
  d.title = "T " + source;
  d.source = source;
  d.text = text;
  return d;
}

// What PRAGMA integrity_check says about a database file ("ok" when sound).
std::string integrity(const fs::path& file) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW)
    out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool has_partial(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(".partial-", 0) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("backup: a store written during the backup copies consistently", "[backup]") {
  test::TempDir dir;
  const fs::path data = dir.path() / "data";
  auto opened = Store::open(data);
  REQUIRE(opened.ok());
  Store& store = **opened;

  std::set<int64_t> before;
  for (int i = 0; i < 200; ++i) {
    const auto d = doc("before-" + std::to_string(i),
                       "document " + std::to_string(i) + " committed before the backup. " +
                           std::string(static_cast<size_t>(200 + i), 'x'));
    auto put = store.put(d, chunk_text(d.text));
    REQUIRE(put.ok());
    before.insert(put->doc_id);
  }

  // A writer that keeps adding and deleting while the backup runs.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::atomic<int> errors{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      const auto d = doc("during-" + std::to_string(i),
                         "document written during the backup, number " + std::to_string(i));
      auto put = store.put(d, chunk_text(d.text));
      if (!put.ok()) ++errors;
      if (put.ok() && i % 3 == 0 && !store.remove(put->doc_id).ok()) ++errors;
      ++written;
    }
  });
  while (written < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const fs::path copy = dir.path() / "copy";
  auto report = backup_data_dir(data, copy);
  stop = true;
  writer.join();
  INFO((report.ok() ? std::string() : report.error().message));
  REQUIRE(report.ok());
  CHECK(errors == 0);

  REQUIRE(fs::exists(copy / "chaja.db"));
  CHECK_FALSE(fs::exists(copy / "chaja.db-wal"));
  CHECK_FALSE(has_partial(dir.path()));
  CHECK(integrity(copy / "chaja.db") == "ok");
  REQUIRE(report->files.size() == 1);
  CHECK(report->files[0].name == "chaja.db");
  CHECK(report->bytes == fs::file_size(copy / "chaja.db"));

  // The copy opens as a store and holds every document committed before the backup.
  auto restored = Store::open(copy);
  REQUIRE(restored.ok());
  auto listed = (*restored)->list(kDefaultCollection, 100000, 0);
  REQUIRE(listed.ok());
  std::set<int64_t> ids;
  for (const DocumentInfo& d : *listed) ids.insert(d.id);
  for (const int64_t id : before) CHECK(ids.count(id) == 1);
  SearchRequest query;
  query.query = "committed";
  query.k = 5;
  auto hits = (*restored)->search(query);
  REQUIRE(hits.ok());
  CHECK(hits->size() == 5);
}

TEST_CASE("backup: threads and keys are copied, the web cache is not", "[backup]") {
  test::TempDir dir;
  const fs::path data = dir.path() / "data";
  REQUIRE(Store::open(data).ok());
  for (const char* name : {"threads.db", "keys.db", "web_cache.db"}) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((data / name).c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(7);",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  const fs::path copy = dir.path() / "empty-target";
  fs::create_directory(copy);  // an empty folder is a fine target
  auto report = backup_data_dir(data, copy);
  INFO((report.ok() ? std::string() : report.error().message));
  REQUIRE(report.ok());
  CHECK(fs::exists(copy / "threads.db"));
  CHECK(fs::exists(copy / "keys.db"));
  CHECK_FALSE(fs::exists(copy / "web_cache.db"));
  CHECK(integrity(copy / "keys.db") == "ok");
  REQUIRE(report->skipped.size() == 1);
  CHECK(report->skipped[0].find("web_cache.db") != std::string::npos);
}

TEST_CASE("backup: the vector cache is copied only as a finished set", "[backup]") {
  test::TempDir dir;
  const fs::path data = dir.path() / "data";
  REQUIRE(Store::open(data).ok());
  const fs::path vectors = data / "vectors";
  fs::create_directories(vectors);
  const auto now = fs::file_time_type::clock::now();
  // "done": saved completely (.gen last). "midway": .faiss newer than .gen, a save under way.
  dir.write("data/vectors/done.faiss", "faiss bytes");
  dir.write("data/vectors/done.stats", "stats bytes");
  dir.write("data/vectors/done.gen", "id 3 384 1 1 0 1 builtin");
  fs::last_write_time(vectors / "done.faiss", now - std::chrono::seconds(2));
  fs::last_write_time(vectors / "done.stats", now - std::chrono::seconds(2));
  fs::last_write_time(vectors / "done.gen", now - std::chrono::seconds(1));
  dir.write("data/vectors/midway.faiss", "new faiss bytes");
  dir.write("data/vectors/midway.gen", "id 2 384 1 1 0 1 builtin");
  fs::last_write_time(vectors / "midway.gen", now - std::chrono::seconds(2));
  fs::last_write_time(vectors / "midway.faiss", now - std::chrono::seconds(1));
  dir.write("data/vectors/done.faiss.tmp", "a leftover");

  const fs::path copy = dir.path() / "copy";
  auto report = backup_data_dir(data, copy);
  INFO((report.ok() ? std::string() : report.error().message));
  REQUIRE(report.ok());
  CHECK(read_file(copy / "vectors/done.faiss") == "faiss bytes");
  CHECK(read_file(copy / "vectors/done.stats") == "stats bytes");
  CHECK(read_file(copy / "vectors/done.gen") == "id 3 384 1 1 0 1 builtin");
  CHECK_FALSE(fs::exists(copy / "vectors/done.faiss.tmp"));
  CHECK_FALSE(fs::exists(copy / "vectors/midway.faiss"));
  CHECK_FALSE(fs::exists(copy / "vectors/midway.gen"));
  bool midway_reported = false;
  for (const std::string& s : report->skipped)
    midway_reported = midway_reported || s.find("vectors/midway") != std::string::npos;
  CHECK(midway_reported);
}

TEST_CASE("backup: refuses a non-empty target and a folder without an index", "[backup]") {
  test::TempDir dir;
  const fs::path data = dir.path() / "data";
  REQUIRE(Store::open(data).ok());
  dir.write("full/keep.txt", "mine");
  auto refused = backup_data_dir(data, dir.path() / "full");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kInvalidInput);
  CHECK(read_file(dir.path() / "full/keep.txt") == "mine");
  CHECK_FALSE(has_partial(dir.path()));

  dir.write("a-file", "x");
  auto not_a_folder = backup_data_dir(data, dir.path() / "a-file");
  REQUIRE_FALSE(not_a_folder.ok());
  CHECK(not_a_folder.error().kind == ErrorKind::kInvalidInput);

  auto no_index = backup_data_dir(dir.path() / "nothing", dir.path() / "copy");
  REQUIRE_FALSE(no_index.ok());
  CHECK(no_index.error().kind == ErrorKind::kNotFound);
  CHECK_FALSE(fs::exists(dir.path() / "copy"));
}
