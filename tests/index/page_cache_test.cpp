#include "index/page_cache.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "index/test_util.h"

using namespace chaja;

namespace {

constexpr int64_t kT0 = 1'700'000'000;  // a fixed "now" in unix seconds

CachedPage page(const std::string& url, const std::string& body, int64_t fetched_at) {
  CachedPage p;
  p.url = url;
  p.final_url = url + "#final";
  p.status = 200;
  p.content_type = "text/html";
  p.charset = "utf-8";
  p.body = body;
  p.fetched_at = fetched_at;
  return p;
}

std::unique_ptr<PageCache> open_cache(const std::filesystem::path& file,
                                      PageCacheOptions options = {}) {
  auto c = PageCache::open(file, options);
  INFO((c.ok() ? std::string() : c.error().message));
  REQUIRE(c.ok());
  return std::move(*c);
}

}  // namespace

TEST_CASE("page_cache: every field round-trips", "[page_cache]") {
  auto cache = open_cache("");
  CachedPage p;
  p.url = "https://news.example.kr/기사?id=7";
  p.final_url = "https://news.example.kr/articles/7";
  p.status = 203;
  p.content_type = "text/html";
  p.charset = "euc-kr";
  p.body = std::string("<p>한빛반도체의 대표이사는 김하늘입니다.</p>\n") + '\0' + "끝";
  p.fetched_at = kT0;
  REQUIRE(cache->put(p).ok());

  auto got = cache->get(p.url, kT0 + 10);
  REQUIRE(got);
  CHECK(got->url == p.url);
  CHECK(got->final_url == p.final_url);
  CHECK(got->status == 203);
  CHECK(got->content_type == "text/html");
  CHECK(got->charset == "euc-kr");
  CHECK(got->body == p.body);
  CHECK(got->body.size() == p.body.size());
  CHECK(got->fetched_at == kT0);
  CHECK_FALSE(cache->get("https://news.example.kr/other", kT0));
  CHECK(cache->stats().pages == 1);
  CHECK(cache->stats().bytes == static_cast<int64_t>(p.body.size()));
}

TEST_CASE("page_cache: a page older than the ttl is a miss", "[page_cache]") {
  PageCacheOptions o;
  o.ttl = std::chrono::seconds(60);
  auto cache = open_cache("", o);
  REQUIRE(cache->put(page("https://a.example/", "aaa", kT0)).ok());
  CHECK(cache->get("https://a.example/", kT0));
  CHECK(cache->get("https://a.example/", kT0 + 60));
  CHECK_FALSE(cache->get("https://a.example/", kT0 + 61));
  CHECK(cache->get("https://a.example/", kT0 - 5));  // clock skew: not expired
}

TEST_CASE("page_cache: expired pages are pruned", "[page_cache]") {
  PageCacheOptions o;
  o.ttl = std::chrono::seconds(100);
  o.max_bytes = 100;
  auto cache = open_cache("", o);
  REQUIRE(cache->put(page("https://a/", std::string(30, 'a'), kT0)).ok());
  REQUIRE(cache->put(page("https://b/", std::string(30, 'b'), kT0 + 1)).ok());
  REQUIRE(cache->put(page("https://c/", std::string(30, 'c'), kT0 + 2)).ok());
  CHECK(cache->stats().pages == 3);
  // Over the cap: every expired page goes (not just the oldest one that would make room).
  REQUIRE(cache->put(page("https://d/", std::string(30, 'd'), kT0 + 200)).ok());
  CHECK(cache->stats().pages == 1);
  CHECK(cache->stats().bytes == 30);
  CHECK(cache->get("https://d/", kT0 + 200));

  SECTION("and every 64 puts when under the cap") {
    PageCacheOptions big = o;
    big.max_bytes = 1 << 20;
    auto c2 = open_cache("", big);
    REQUIRE(c2->put(page("https://old/", "x", kT0)).ok());
    for (int i = 0; i < 63; ++i)
      REQUIRE(c2->put(page("https://new/" + std::to_string(i), "y", kT0 + 500)).ok());
    CHECK(c2->stats().pages == 64);  // the first put pruned; not yet again
    REQUIRE(c2->put(page("https://new/last", "y", kT0 + 500)).ok());
    CHECK(c2->stats().pages == 64);  // the 65th put pruned https://old/
    CHECK_FALSE(c2->get("https://old/", kT0));
  }
}

TEST_CASE("page_cache: put replaces the page under the same url", "[page_cache]") {
  auto cache = open_cache("");
  REQUIRE(cache->put(page("https://a/", "first version", kT0)).ok());
  CachedPage second = page("https://a/", "둘째", kT0 + 5);
  second.status = 404;
  second.final_url = "https://a/moved";
  REQUIRE(cache->put(second).ok());
  auto got = cache->get("https://a/", kT0 + 5);
  REQUIRE(got);
  CHECK(got->body == "둘째");
  CHECK(got->status == 404);
  CHECK(got->final_url == "https://a/moved");
  CHECK(got->fetched_at == kT0 + 5);
  CHECK(cache->stats().pages == 1);
  CHECK(cache->stats().bytes == static_cast<int64_t>(std::string("둘째").size()));
}

TEST_CASE("page_cache: the oldest pages are evicted beyond max_bytes", "[page_cache]") {
  PageCacheOptions o;
  o.max_bytes = 100;
  auto cache = open_cache("", o);
  // Put out of age order: eviction goes by fetched_at, not by insertion.
  REQUIRE(cache->put(page("https://p2/", std::string(30, '2'), kT0 + 2)).ok());
  REQUIRE(cache->put(page("https://p1/", std::string(30, '1'), kT0 + 1)).ok());
  REQUIRE(cache->put(page("https://p3/", std::string(30, '3'), kT0 + 3)).ok());
  CHECK(cache->stats().bytes == 90);
  REQUIRE(cache->put(page("https://p4/", std::string(30, '4'), kT0 + 4)).ok());
  CHECK(cache->stats().pages == 3);
  CHECK(cache->stats().bytes == 90);
  CHECK_FALSE(cache->get("https://p1/", kT0 + 4));
  CHECK(cache->get("https://p2/", kT0 + 4));
  REQUIRE(cache->put(page("https://p5/", std::string(60, '5'), kT0 + 5)).ok());
  CHECK(cache->stats().bytes == 90);  // p2 and p3 made room for 60 bytes
  CHECK_FALSE(cache->get("https://p2/", kT0 + 5));
  CHECK_FALSE(cache->get("https://p3/", kT0 + 5));
  CHECK(cache->get("https://p4/", kT0 + 5));
  CHECK(cache->get("https://p5/", kT0 + 5));
}

TEST_CASE("page_cache: an oversize page is not stored", "[page_cache]") {
  PageCacheOptions o;
  o.max_page_bytes = 1000;
  o.max_bytes = 5000;
  auto cache = open_cache("", o);
  REQUIRE(cache->put(page("https://big/", std::string(1000, 'x'), kT0)).ok());  // at the limit
  CHECK(cache->get("https://big/", kT0));
  REQUIRE(cache->put(page("https://big/", std::string(1001, 'x'), kT0 + 1)).ok());
  CHECK_FALSE(cache->get("https://big/", kT0 + 1));  // the older copy is dropped too
  CHECK(cache->stats().pages == 0);
  CHECK(cache->stats().bytes == 0);

  SECTION("a page bigger than max_bytes is not stored either") {
    PageCacheOptions small;
    small.max_bytes = 10;
    auto c2 = open_cache("", small);
    REQUIRE(c2->put(page("https://keep/", "12345", kT0)).ok());
    REQUIRE(c2->put(page("https://huge/", std::string(11, 'h'), kT0 + 1)).ok());
    CHECK_FALSE(c2->get("https://huge/", kT0 + 1));
    CHECK(c2->get("https://keep/", kT0 + 1));  // and it evicted nothing
  }
}

TEST_CASE("page_cache: bad input is refused", "[page_cache]") {
  auto cache = open_cache("");
  Status s = cache->put(page("", "body", kT0));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kInvalidInput);
  s = cache->put(page(std::string(100'000, 'u'), "body", kT0));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kInvalidInput);
  CHECK_FALSE(cache->get("", kT0));
  CHECK(cache->stats().pages == 0);

  PageCacheOptions o;
  o.ttl = std::chrono::seconds(-1);
  auto bad = PageCache::open("", o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("page_cache: a file cache persists across reopen", "[page_cache]") {
  test::TempDir dir;
  const auto file = dir.path() / "data" / "web_cache.db";  // the folder is created
  {
    auto cache = open_cache(file);
    REQUIRE(cache->put(page("https://a/", "에이", kT0)).ok());
    REQUIRE(cache->put(page("https://b/", "비", kT0 + 1)).ok());
  }
  REQUIRE(std::filesystem::exists(file));
  auto cache = open_cache(file);
  auto got = cache->get("https://a/", kT0 + 1);
  REQUIRE(got);
  CHECK(got->body == "에이");
  CHECK(got->final_url == "https://a/#final");
  CHECK(cache->stats().pages == 2);
  CHECK(cache->stats().bytes == static_cast<int64_t>(std::string("에이비").size()));
}

TEST_CASE("page_cache: two handles on one file see each other's pages", "[page_cache]") {
  test::TempDir dir;
  const auto file = dir.path() / "web_cache.db";
  auto one = open_cache(file);
  auto two = open_cache(file);
  REQUIRE(one->put(page("https://a/", "from one", kT0)).ok());
  auto got = two->get("https://a/", kT0);
  REQUIRE(got);
  CHECK(got->body == "from one");
  REQUIRE(two->put(page("https://a/", "from two", kT0 + 1)).ok());
  CHECK(one->get("https://a/", kT0 + 1)->body == "from two");
  CHECK(one->stats().pages == 1);  // totals are kept in the file, not per handle

  SECTION("a get is not blocked by another writer's lock; a put gives up with kUnavailable") {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(file.string().c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    const auto start = std::chrono::steady_clock::now();
    got = one->get("https://a/", kT0 + 1);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200));
    REQUIRE(got);
    CHECK(got->body == "from two");
    Status s = one->put(page("https://b/", "blocked", kT0 + 2));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kUnavailable);
    sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
    CHECK(one->put(page("https://b/", "free again", kT0 + 2)).ok());
    CHECK(two->get("https://b/", kT0 + 2));
  }
}

TEST_CASE("page_cache: an unreadable file is replaced", "[page_cache]") {
  test::TempDir dir;
  std::filesystem::path file;

  SECTION("garbage bytes") {
    std::string junk;
    for (int i = 0; i < 8192; ++i) junk.push_back(static_cast<char>((i * 7919 + 13) & 0xff));
    file = dir.write("web_cache.db", junk);
  }
  SECTION("an SQLite file of another schema") {
    file = dir.path() / "web_cache.db";
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(file.string().c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "CREATE TABLE pages(x); INSERT INTO pages VALUES(1);", nullptr,
                         nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  SECTION("a cache whose header was overwritten") {
    file = dir.path() / "web_cache.db";
    {
      auto cache = open_cache(file);
      REQUIRE(cache->put(page("https://a/", "old", kT0)).ok());
    }
    std::string bytes;
    {
      std::ifstream in(file, std::ios::binary);
      bytes.resize(std::filesystem::file_size(file));
      in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    REQUIRE(bytes.size() > 100);
    bytes.replace(0, 16, "not sqlite here!");
    dir.write("web_cache.db", bytes);
  }

  auto cache = open_cache(file);
  CHECK(cache->stats().pages == 0);
  REQUIRE(cache->put(page("https://a/", "새로 만든 캐시", kT0)).ok());
  auto got = cache->get("https://a/", kT0);
  REQUIRE(got);
  CHECK(got->body == "새로 만든 캐시");
  cache.reset();
  CHECK(open_cache(file)->get("https://a/", kT0));  // and it is a good cache file now
}

TEST_CASE("page_cache: a folder in place of the file is an error, not removed", "[page_cache]") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "web_cache.db" / "inside");
  auto cache = PageCache::open(dir.path() / "web_cache.db");
  REQUIRE_FALSE(cache.ok());
  CHECK(cache.error().kind == ErrorKind::kIo);
  CHECK(std::filesystem::exists(dir.path() / "web_cache.db" / "inside"));
}

TEST_CASE("page_cache: concurrent gets and puts from 4 threads", "[page_cache]") {
  test::TempDir dir;
  PageCacheOptions o;
  o.max_bytes = 20'000;  // small: eviction runs concurrently with the reads
  for (const bool in_memory : {false, true}) {
    INFO("in memory: " << in_memory);
    auto cache = open_cache(in_memory ? std::filesystem::path() : dir.path() / "web_cache.db", o);
    std::atomic<int> put_errors{0}, wrong_pages{0}, hits{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 300; ++i) {
          const std::string url = "https://example.kr/" + std::to_string((i * 7 + t) % 50);
          if (i % 3 == 0) {
            const std::string body = "본문 " + url + std::string(static_cast<size_t>(i), '.');
            if (!cache->put(page(url, body, kT0 + i)).ok()) ++put_errors;
          } else if (auto got = cache->get(url, kT0 + i)) {
            ++hits;
            if (got->body.rfind("본문 " + url, 0) != 0 || got->url != url) ++wrong_pages;
          }
          if (i % 50 == 0) (void)cache->stats();
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(put_errors == 0);
    CHECK(wrong_pages == 0);
    CHECK(hits > 0);
    const auto st = cache->stats();
    CHECK(st.pages > 0);
    CHECK(st.bytes <= 20'000);
  }
}
