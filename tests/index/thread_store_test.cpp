#include "index/thread_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "index/test_util.h"

using namespace chaja;

namespace {

constexpr int64_t kT0 = 1'700'000'000;  // a fixed "now" in unix seconds

// A clock that starts at kT0 and advances one second per reading.
ThreadStoreOptions ticking(ThreadStoreOptions options = {}) {
  auto t = std::make_shared<std::atomic<int64_t>>(kT0);
  options.clock = [t] { return t->fetch_add(1); };
  return options;
}

std::unique_ptr<ThreadStore> open_store(const std::filesystem::path& file,
                                        ThreadStoreOptions options = {}) {
  auto s = ThreadStore::open(file, std::move(options));
  INFO((s.ok() ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return std::move(*s);
}

std::string new_thread(ThreadStore& store, const std::string& collection = "docs",
                       const std::string& owner = "") {
  auto id = store.create(collection, owner);
  INFO((id.ok() ? std::string() : id.error().message));
  REQUIRE(id.ok());
  return *id;
}

// prefix followed by n ("q" + std::to_string(n) trips GCC 12's -Wrestrict false positive).
std::string numbered(std::string prefix, int n) {
  prefix += std::to_string(n);
  return prefix;
}

ThreadTurn turn(const std::string& question, const std::string& answer = "an answer") {
  ThreadTurn t;
  t.question = question;
  t.answer = answer;
  t.citations_json = R"([{"n":1,"title":"t"}])";
  t.related_json = R"(["more?"])";
  t.model = "extractive";
  return t;
}

ThreadTurn append_ok(ThreadStore& store, const std::string& id, ThreadTurn t) {
  auto r = store.append(id, std::move(t));
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

ThreadInfo get_ok(ThreadStore& store, const std::string& id, size_t max_turns = 50) {
  auto r = store.get(id, max_turns);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

bool is_hex32(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Runs one SQL statement on the file with a separate raw connection; returns the first column
// of the first row as an integer (0 when there is none).
int64_t raw_sql(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  const int rc = sqlite3_step(stmt);
  const int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE((rc == SQLITE_ROW || rc == SQLITE_DONE));
  return v;
}

std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes(static_cast<size_t>(std::filesystem::file_size(file)), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

}  // namespace

TEST_CASE("thread store: create, get, append, remove round trip with Korean text",
          "[thread_store]") {
  auto store = open_store("", ticking());
  const std::string id = new_thread(*store, "회사 문서", "key-1");

  ThreadInfo empty = get_ok(*store, id);
  CHECK(empty.id == id);
  CHECK(empty.collection == "회사 문서");
  CHECK(empty.owner == "key-1");
  CHECK(empty.created_at == kT0);
  CHECK(empty.updated_at == kT0);
  CHECK(empty.turns.empty());
  CHECK(empty.turn_count == 0);

  ThreadTurn first = turn("한빛반도체의 대표이사는 누구인가요?", "대표이사는 김한빛입니다 [1].");
  first.query = "";
  first.citations_json = R"([{"n":1,"title":"한빛반도체 소개","url":"file:///a.md"}])";
  first.related_json = R"(["설립 연도는?","본사는 어디인가요?"])";
  first.model = "clova:HCX-005";
  first.id = 999;  // ignored
  first.created_at = 5;
  const ThreadTurn a = append_ok(*store, id, first);
  CHECK(a.id > 0);
  CHECK(a.created_at == kT0 + 1);

  ThreadTurn second = turn("그 회사는 언제 설립됐나요?", "1998년에 설립되었습니다 [1].");
  second.query = "한빛반도체 설립 연도";
  second.citations_json = "";  // stored as []
  second.related_json = "";
  const ThreadTurn b = append_ok(*store, id, second);
  CHECK(b.id > a.id);
  CHECK(b.created_at == kT0 + 2);
  CHECK(b.citations_json == "[]");
  CHECK(b.related_json == "[]");

  ThreadInfo info = get_ok(*store, id);
  CHECK(info.created_at == kT0);
  CHECK(info.updated_at == kT0 + 2);
  CHECK(info.turn_count == 2);
  REQUIRE(info.turns.size() == 2);
  const ThreadTurn& t0 = info.turns[0];
  CHECK(t0.id == a.id);
  CHECK(t0.question == first.question);
  CHECK(t0.query == "");
  CHECK(t0.answer == first.answer);
  CHECK(t0.citations_json == first.citations_json);
  CHECK(t0.related_json == first.related_json);
  CHECK(t0.model == "clova:HCX-005");
  CHECK(t0.created_at == kT0 + 1);
  const ThreadTurn& t1 = info.turns[1];
  CHECK(t1.id == b.id);
  CHECK(t1.question == "그 회사는 언제 설립됐나요?");
  CHECK(t1.query == "한빛반도체 설립 연도");
  CHECK(t1.answer == "1998년에 설립되었습니다 [1].");
  CHECK(t1.citations_json == "[]");

  REQUIRE(store->remove(id).ok());
  auto gone = store->get(id);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ErrorKind::kNotFound);
}

TEST_CASE("thread store: ids are unique 32-character lowercase hex", "[thread_store]") {
  auto store = open_store("");
  std::set<std::string> ids;
  for (int i = 0; i < 500; ++i) {
    const std::string id = new_thread(*store);
    INFO(id);
    CHECK(is_hex32(id));
    ids.insert(id);
  }
  CHECK(ids.size() == 500);
  // Not a counter: ids differ in many positions, and every hex digit shows up.
  std::set<char> digits;
  for (const auto& id : ids) digits.insert(id.begin(), id.end());
  CHECK(digits.size() == 16);
}

TEST_CASE("thread store: unknown and malformed ids", "[thread_store]") {
  auto store = open_store("");
  const std::string known = new_thread(*store);
  std::string unknown = known;
  unknown[0] = unknown[0] == '0' ? '1' : '0';

  auto g = store->get(unknown);
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().kind == ErrorKind::kNotFound);
  auto a = store->append(unknown, turn("q"));
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().kind == ErrorKind::kNotFound);
  Status r = store->remove(unknown);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kNotFound);

  std::string upper = known;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == known) upper[0] = 'G';  // all digits: make it malformed anyway
  for (const std::string& bad : {std::string(), known.substr(1), known + "0", upper,
                                 std::string(31, 'a') + "g", std::string(31, 'a') + " ",
                                 std::string(16, 'a') + std::string(1, '\0') + std::string(15, 'a'),
                                 std::string("../../../../etc/passwd0000000000")}) {
    INFO("id: " << bad);
    auto gb = store->get(bad);
    REQUIRE_FALSE(gb.ok());
    CHECK(gb.error().kind == ErrorKind::kInvalidInput);
    auto ab = store->append(bad, turn("q"));
    REQUIRE_FALSE(ab.ok());
    CHECK(ab.error().kind == ErrorKind::kInvalidInput);
    Status rb = store->remove(bad);
    REQUIRE_FALSE(rb.ok());
    CHECK(rb.error().kind == ErrorKind::kInvalidInput);
  }
  CHECK(get_ok(*store, known).turn_count == 0);  // untouched
}

TEST_CASE("thread store: max_turns returns the newest turns, oldest first", "[thread_store]") {
  auto store = open_store("");
  const std::string id = new_thread(*store);
  std::vector<int64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(append_ok(*store, id, turn(numbered("q", i))).id);

  ThreadInfo three = get_ok(*store, id, 3);
  CHECK(three.turn_count == 10);
  REQUIRE(three.turns.size() == 3);
  CHECK(three.turns[0].question == "q7");
  CHECK(three.turns[1].question == "q8");
  CHECK(three.turns[2].question == "q9");
  CHECK(three.turns[2].id == ids[9]);

  ThreadInfo none = get_ok(*store, id, 0);
  CHECK(none.turns.empty());
  CHECK(none.turn_count == 10);

  ThreadInfo all = get_ok(*store, id, 1000);
  REQUIRE(all.turns.size() == 10);
  for (int i = 0; i < 10; ++i) {
    CHECK(all.turns[static_cast<size_t>(i)].question == numbered("q", i));
    CHECK(all.turns[static_cast<size_t>(i)].id == ids[static_cast<size_t>(i)]);
  }
  CHECK(get_ok(*store, id).turns.size() == 10);  // the default of 50
}

TEST_CASE("thread store: a full thread refuses more turns with kConflict", "[thread_store]") {
  ThreadStoreOptions options;
  options.max_turns_per_thread = 3;
  auto store = open_store("", options);
  const std::string id = new_thread(*store);
  for (int i = 0; i < 3; ++i) append_ok(*store, id, turn(numbered("q", i)));
  auto full = store->append(id, turn("one too many"));
  REQUIRE_FALSE(full.ok());
  CHECK(full.error().kind == ErrorKind::kConflict);
  CHECK(full.error().message.find("full") != std::string::npos);
  CHECK(full.error().message.find("new one") != std::string::npos);
  ThreadInfo info = get_ok(*store, id);
  CHECK(info.turn_count == 3);
  CHECK(info.turns.back().question == "q2");

  const std::string other = new_thread(*store);  // the limit is per thread
  append_ok(*store, other, turn("fresh"));

  options.max_turns_per_thread = 0;
  auto bad = ThreadStore::open("", options);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("thread store: sizes and invalid UTF-8 are refused", "[thread_store]") {
  ThreadStoreOptions options;
  options.max_question_bytes = 12;
  options.max_answer_bytes = 20;
  options.max_json_bytes = 30;
  auto store = open_store("", options);
  const std::string id = new_thread(*store);

  auto expect = [&](ThreadTurn t, ErrorKind kind, const std::string& word) {
    auto r = store->append(id, std::move(t));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == kind);
    INFO(r.error().message);
    CHECK(r.error().message.find(word) != std::string::npos);
  };

  // At the limits: accepted (4 Hangul syllables are 12 bytes).
  ThreadTurn edge = turn("가나다라", std::string(20, 'a'));
  edge.query = std::string(12, 'q');
  edge.citations_json = "[" + std::string(28, ' ') + "]";
  append_ok(*store, id, edge);

  expect(turn("가나다라마"), ErrorKind::kTooLarge, "question");
  ThreadTurn long_query = turn("q");
  long_query.query = std::string(13, 'q');
  expect(long_query, ErrorKind::kTooLarge, "query");
  expect(turn("q", std::string(21, 'a')), ErrorKind::kTooLarge, "answer");
  ThreadTurn long_json = turn("q");
  long_json.citations_json = "[" + std::string(29, ' ') + "]";
  expect(long_json, ErrorKind::kTooLarge, "citations_json");
  ThreadTurn long_related = turn("q");
  long_related.related_json = "[" + std::string(29, ' ') + "]";
  expect(long_related, ErrorKind::kTooLarge, "related_json");
  ThreadTurn long_model = turn("q");
  long_model.model = std::string(2000, 'm');
  expect(long_model, ErrorKind::kTooLarge, "model");

  expect(turn(""), ErrorKind::kInvalidInput, "question");
  expect(turn("a\xff"), ErrorKind::kInvalidInput, "UTF-8");
  expect(turn("\xc0\xaf"), ErrorKind::kInvalidInput, "question");         // overlong '/'
  expect(turn("q", "\xed\xa0\x80"), ErrorKind::kInvalidInput, "answer");  // a surrogate
  expect(turn("q", "\xea\xb0"), ErrorKind::kInvalidInput, "answer");      // truncated 가
  ThreadTurn bad_query = turn("q");
  bad_query.query = "\x80";
  expect(bad_query, ErrorKind::kInvalidInput, "query");
  ThreadTurn bad_json = turn("q");
  bad_json.related_json = "[\"\xfe\"]";
  expect(bad_json, ErrorKind::kInvalidInput, "related_json");

  CHECK(get_ok(*store, id).turn_count == 1);  // only the edge turn

  auto bad_collection = store->create("\xff", "");
  REQUIRE_FALSE(bad_collection.ok());
  CHECK(bad_collection.error().kind == ErrorKind::kInvalidInput);
  auto long_owner = store->create("docs", std::string(5000, 'o'));
  REQUIRE_FALSE(long_owner.ok());
  CHECK(long_owner.error().kind == ErrorKind::kInvalidInput);

  ThreadStoreOptions huge;
  huge.max_answer_bytes = size_t{1} << 40;
  auto h = ThreadStore::open("", huge);
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("thread store: threads persist across reopen", "[thread_store]") {
  test::TempDir dir;
  const auto file = dir.path() / "data" / "threads.db";  // the folder is created
  std::string id;
  ThreadTurn stored;
  {
    auto store = open_store(file);
    id = new_thread(*store, "docs", "key-7");
    stored = append_ok(*store, id, turn("연차는 며칠인가요?", "15일입니다 [1]."));
  }
  REQUIRE(std::filesystem::exists(file));
  CHECK(raw_sql(file, "PRAGMA user_version") == 1);
  CHECK(raw_sql(file, "PRAGMA application_id") == 0x43686354);

  auto store = open_store(file);
  ThreadInfo info = get_ok(*store, id);
  CHECK(info.owner == "key-7");
  REQUIRE(info.turns.size() == 1);
  CHECK(info.turns[0].id == stored.id);
  CHECK(info.turns[0].question == "연차는 며칠인가요?");
  CHECK(info.turns[0].answer == "15일입니다 [1].");
  CHECK(info.turns[0].created_at == stored.created_at);
  const ThreadTurn next = append_ok(*store, id, turn("반차는요?"));
  CHECK(next.id > stored.id);
}

TEST_CASE("thread store: files it cannot read are errors and are left untouched",
          "[thread_store]") {
  test::TempDir dir;
  const auto file = dir.path() / "threads.db";

  SECTION("a newer schema version") {
    std::string id;
    {
      auto store = open_store(file);
      id = new_thread(*store);
    }
    raw_sql(file, "PRAGMA user_version = 2");
    auto newer = ThreadStore::open(file);
    REQUIRE_FALSE(newer.ok());
    CHECK(newer.error().kind == ErrorKind::kUnsupported);
    CHECK(newer.error().message.find("version 2") != std::string::npos);
    raw_sql(file, "PRAGMA user_version = 1");  // the data is still there
    auto store = open_store(file);
    CHECK(get_ok(*store, id).id == id);
  }
  SECTION("another application's database") {
    raw_sql(file, "CREATE TABLE notes(x TEXT)");
    raw_sql(file, "INSERT INTO notes VALUES('keep me')");
    auto other = ThreadStore::open(file);
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().kind == ErrorKind::kIo);
    CHECK(other.error().message.find("not a Chaja thread store") != std::string::npos);
    CHECK(raw_sql(file, "SELECT count(*) FROM notes WHERE x = 'keep me'") == 1);
    CHECK(raw_sql(file, "SELECT count(*) FROM sqlite_master WHERE name = 'threads'") == 0);
  }
  SECTION("not SQLite at all") {
    const std::string bytes(8192, 'x');
    dir.write("threads.db", bytes);
    auto junk = ThreadStore::open(file);
    REQUIRE_FALSE(junk.ok());
    CHECK(junk.error().kind == ErrorKind::kIo);
    CHECK(read_bytes(file) == bytes);
  }
}

TEST_CASE("thread store: an acknowledged append survives SIGKILL", "[thread_store]") {
  test::TempDir dir;
  const auto file = dir.path() / "threads.db";
  std::string id;
  {
    auto store = open_store(file);
    id = new_thread(*store);
    append_ok(*store, id, turn("before"));
  }  // closed: the child opens its own connection (none crosses the fork)

  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // child: append, report the turn id, then wait to be killed
    ::close(fds[0]);
    auto store = ThreadStore::open(file);
    if (!store) ::_exit(3);
    auto r = (*store)->append(id, turn("살아남을 질문", "살아남을 답"));
    if (!r) ::_exit(4);
    const int64_t turn_id = r->id;
    if (::write(fds[1], &turn_id, sizeof turn_id) != static_cast<ssize_t>(sizeof turn_id))
      ::_exit(5);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  int64_t turn_id = 0;
  size_t got = 0;
  while (got < sizeof turn_id) {
    const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&turn_id) + got, sizeof turn_id - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  ::kill(pid, SIGKILL);  // right after append returned; the child never closes its connection
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  REQUIRE(got == sizeof turn_id);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  // The commit lives in the WAL the killed process left behind; opening recovers it.
  CHECK(std::filesystem::exists(dir.path() / "threads.db-wal"));

  auto store = open_store(file);
  ThreadInfo info = get_ok(*store, id);
  REQUIRE(info.turns.size() == 2);
  CHECK(info.turns[0].question == "before");
  CHECK(info.turns[1].id == turn_id);
  CHECK(info.turns[1].question == "살아남을 질문");
  CHECK(info.turns[1].answer == "살아남을 답");
}

TEST_CASE("thread store: remove deletes the thread and its turns", "[thread_store]") {
  test::TempDir dir;
  const auto file = dir.path() / "threads.db";
  auto store = open_store(file);
  const std::string doomed = new_thread(*store, "docs", "key-1");
  const std::string kept = new_thread(*store, "docs", "key-1");
  for (int i = 0; i < 3; ++i) append_ok(*store, doomed, turn(numbered("doomed ", i)));
  append_ok(*store, kept, turn("kept"));
  CHECK(raw_sql(file, "SELECT count(*) FROM turns") == 4);

  REQUIRE(store->remove(doomed).ok());
  CHECK(raw_sql(file, "SELECT count(*) FROM turns") == 1);
  CHECK(raw_sql(file, "SELECT count(*) FROM turns WHERE question LIKE 'doomed%'") == 0);

  auto again = store->remove(doomed);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::kNotFound);
  auto late = store->append(doomed, turn("too late"));
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().kind == ErrorKind::kNotFound);

  const std::string fresh = new_thread(*store, "docs", "key-1");
  CHECK(fresh != doomed);
  ThreadInfo info = get_ok(*store, fresh);
  CHECK(info.turns.empty());
  CHECK(info.turn_count == 0);
  const ThreadTurn t = append_ok(*store, fresh, turn("new"));
  ThreadInfo after = get_ok(*store, fresh);
  REQUIRE(after.turns.size() == 1);
  CHECK(after.turns[0].id == t.id);

  ThreadInfo other = get_ok(*store, kept);
  REQUIRE(other.turns.size() == 1);
  CHECK(other.turns[0].question == "kept");
  auto listed = store->list("key-1", 10);
  REQUIRE(listed.ok());
  CHECK(listed->size() == 2);
}

TEST_CASE("thread store: list by owner, newest first", "[thread_store]") {
  auto store = open_store("", ticking());
  std::vector<std::string> a;
  for (int i = 0; i < 3; ++i) a.push_back(new_thread(*store, numbered("c", i), "key-a"));
  const std::string b = new_thread(*store, "docs", "key-b");
  const std::string open_thread = new_thread(*store, "docs", "");
  append_ok(*store, a[0], turn("q1"));
  append_ok(*store, a[0], turn("q2"));

  auto la = store->list("key-a", 10);
  REQUIRE(la.ok());
  REQUIRE(la->size() == 3);
  CHECK((*la)[0].id == a[2]);
  CHECK((*la)[1].id == a[1]);
  CHECK((*la)[2].id == a[0]);
  CHECK((*la)[2].collection == "c0");
  CHECK((*la)[2].owner == "key-a");
  CHECK((*la)[2].turn_count == 2);
  CHECK((*la)[2].turns.empty());
  CHECK((*la)[2].updated_at > (*la)[2].created_at);
  CHECK((*la)[0].turn_count == 0);

  auto limited = store->list("key-a", 2);
  REQUIRE(limited.ok());
  REQUIRE(limited->size() == 2);
  CHECK((*limited)[0].id == a[2]);

  auto lb = store->list("key-b", 10);
  REQUIRE(lb.ok());
  REQUIRE(lb->size() == 1);
  CHECK((*lb)[0].id == b);
  auto lo = store->list("", 10);
  REQUIRE(lo.ok());
  REQUIRE(lo->size() == 1);
  CHECK((*lo)[0].id == open_thread);
  auto nobody = store->list("nobody", 10);
  REQUIRE(nobody.ok());
  CHECK(nobody->empty());
  auto zero = store->list("key-a", 0);
  REQUIRE(zero.ok());
  CHECK(zero->empty());

  // Same second: creation order still decides.
  auto same = open_store("", [] {
    ThreadStoreOptions o;
    o.clock = [] { return kT0; };
    return o;
  }());
  const std::string s1 = new_thread(*same, "docs", "k");
  const std::string s2 = new_thread(*same, "docs", "k");
  auto ls = same->list("k", 10);
  REQUIRE(ls.ok());
  REQUIRE(ls->size() == 2);
  CHECK((*ls)[0].id == s2);
  CHECK((*ls)[1].id == s1);
}

TEST_CASE("thread store: concurrent appends keep every turn", "[thread_store]") {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  test::TempDir dir;

  // in memory: one store shared by 4 threads; file: two stores (two connections, as two
  // processes would have) on one file, two threads each.
  for (const bool on_file : {false, true}) {
    INFO((on_file ? "file" : "in memory"));
    const auto file = on_file ? dir.path() / "threads.db" : std::filesystem::path();
    auto s1 = open_store(file);
    auto s2 = on_file ? open_store(file) : nullptr;
    ThreadStore* second = s2 ? s2.get() : s1.get();
    const std::string id = new_thread(*s1);

    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t)
      workers.emplace_back([&, t] {
        ThreadStore& store = t % 2 == 0 ? *s1 : *second;
        for (int i = 0; i < kPerThread; ++i) {
          auto r = store.append(id, turn(numbered(numbered("t", t) + "-", i)));
          if (!r) failures.fetch_add(1);
        }
      });
    for (auto& w : workers) w.join();
    CHECK(failures.load() == 0);

    ThreadInfo info = get_ok(*second, id, 1000);
    CHECK(info.turn_count == kThreads * kPerThread);
    REQUIRE(info.turns.size() == static_cast<size_t>(kThreads * kPerThread));
    std::set<int64_t> ids;
    std::set<std::string> questions;
    std::vector<int> next(kThreads, 0);  // each worker's turns appear in its own order
    bool in_order = true;
    for (const ThreadTurn& tt : info.turns) {
      ids.insert(tt.id);
      questions.insert(tt.question);
      const auto dash = tt.question.find('-');
      const int t = std::stoi(tt.question.substr(1, dash - 1));
      const int i = std::stoi(tt.question.substr(dash + 1));
      if (i != next[static_cast<size_t>(t)]++) in_order = false;
    }
    CHECK(ids.size() == static_cast<size_t>(kThreads * kPerThread));
    CHECK(questions.size() == static_cast<size_t>(kThreads * kPerThread));
    CHECK(in_order);
  }
}
