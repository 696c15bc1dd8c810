#include "index/key_store.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "index/test_util.h"

using namespace chaja;

namespace {

std::unique_ptr<KeyStore> open_keys(const std::filesystem::path& file) {
  auto s = KeyStore::open(file);
  INFO((s.ok() ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return std::move(*s);
}

NewKey make_key(KeyStore& store, KeyRole role = KeyRole::kReader,
                std::vector<std::string> collections = {"docs"},
                std::vector<std::string> origins = {}, int rate = 0, std::string name = "") {
  auto k = store.create(role, std::move(collections), std::move(origins), rate, std::move(name));
  INFO((k.ok() ? std::string() : k.error().message));
  REQUIRE(k.ok());
  return std::move(*k);
}

std::optional<ApiKey> verified(KeyStore& store, std::string_view secret) {
  auto v = store.verify(secret);
  INFO((v.ok() ? std::string() : v.error().message));
  REQUIRE(v.ok());
  return *v;
}

bool active(KeyStore& store) {
  auto a = store.any_active();
  REQUIRE(a.ok());
  return *a;
}

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("key store: roles parse and print", "[key_store]") {
  for (KeyRole r : {KeyRole::kReader, KeyRole::kWriter, KeyRole::kAdmin}) {
    auto p = parse_key_role(key_role_name(r));
    REQUIRE(p.ok());
    CHECK(*p == r);
  }
  auto bad = parse_key_role("root");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidInput);
  CHECK_FALSE(parse_key_role("Admin").ok());
}

TEST_CASE("key store: create, verify, list, revoke", "[key_store]") {
  test::TempDir dir;
  auto store = open_keys(dir.path() / "keys.db");
  CHECK_FALSE(active(*store));
  CHECK(store->list()->empty());

  NewKey k = make_key(*store, KeyRole::kWriter, {"docs", "hr"}, {"https://Intranet.Example.com"},
                      120, "ci bot");
  // id k_ + 8 hex; secret chaja_ + the same 8 hex + _ + 40 hex.
  REQUIRE(k.key.id.size() == 10);
  CHECK(k.key.id.rfind("k_", 0) == 0);
  CHECK(is_lower_hex(k.key.id.substr(2)));
  REQUIRE(k.secret.size() == 55);
  CHECK(k.secret.substr(0, 15) == "chaja_" + k.key.id.substr(2) + "_");
  CHECK(is_lower_hex(k.secret.substr(15)));
  CHECK(k.key.origins == std::vector<std::string>{"https://intranet.example.com"});
  CHECK(k.key.created_at > 1'600'000'000);
  CHECK(active(*store));

  auto v = verified(*store, k.secret);
  REQUIRE(v.has_value());
  CHECK(v->id == k.key.id);
  CHECK(v->role == KeyRole::kWriter);
  CHECK(v->name == "ci bot");
  CHECK(v->collections == std::vector<std::string>{"docs", "hr"});
  CHECK(v->origins == std::vector<std::string>{"https://intranet.example.com"});
  CHECK(v->rate_per_minute == 120);
  CHECK_FALSE(v->revoked);
  CHECK(v->allows_collection("docs"));
  CHECK(v->allows_collection("hr"));
  CHECK_FALSE(v->allows_collection("default"));

  NewKey admin = make_key(*store, KeyRole::kAdmin, {"*"});
  CHECK(verified(*store, admin.secret)->allows_collection("anything"));

  auto all = store->list();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == k.key.id);  // oldest first
  CHECK((*all)[1].id == admin.key.id);

  REQUIRE(store->revoke(k.key.id).ok());
  CHECK_FALSE(verified(*store, k.secret).has_value());
  CHECK(verified(*store, admin.secret).has_value());
  all = store->list();
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].revoked);
  CHECK_FALSE((*all)[1].revoked);
  CHECK(store->revoke(k.key.id).ok());  // again: nothing changes

  auto missing = store->revoke("k_00000000");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);
  CHECK(store->revoke("nonsense").error().kind == ErrorKind::kNotFound);

  REQUIRE(store->revoke(admin.key.id).ok());
  CHECK_FALSE(active(*store));
}

TEST_CASE("key store: wrong and malformed secrets verify to nothing", "[key_store]") {
  auto store = open_keys("");
  NewKey k = make_key(*store);
  std::string wrong = k.secret;
  wrong.back() = wrong.back() == '0' ? '1' : '0';  // same id, another secret
  CHECK_FALSE(verified(*store, wrong).has_value());
  NewKey other = make_key(*store);
  // The right id with another key's secret part.
  CHECK_FALSE(verified(*store, k.secret.substr(0, 15) + other.secret.substr(15)).has_value());
  for (std::string bad :
       {std::string(), std::string("chaja_"), k.secret.substr(0, 54), k.secret + "0",
        "Bearer " + k.secret, k.key.id, "CHAJA_" + k.secret.substr(6)}) {
    INFO(bad);
    CHECK_FALSE(verified(*store, bad).has_value());
  }
  std::string upper = k.secret;
  upper[20] = upper[20] >= 'a' ? static_cast<char>(upper[20] - 32) : 'A';
  CHECK_FALSE(verified(*store, upper).has_value());
  std::string no_sep = k.secret;
  no_sep[14] = 'x';
  CHECK_FALSE(verified(*store, no_sep).has_value());
  CHECK(verified(*store, k.secret).has_value());
}

TEST_CASE("key store: another process's create and revoke take effect on the next call",
          "[key_store]") {
  test::TempDir dir;
  const auto file = dir.path() / "keys.db";
  auto server = open_keys(file);
  auto cli = open_keys(file);
  CHECK_FALSE(active(*server));

  NewKey k = make_key(*cli, KeyRole::kReader, {"docs"});
  CHECK(active(*server));
  REQUIRE(verified(*server, k.secret).has_value());

  REQUIRE(cli->revoke(k.key.id).ok());
  CHECK_FALSE(verified(*server, k.secret).has_value());
  CHECK_FALSE(active(*server));

  // And the other way round, with a third store opened after the changes.
  NewKey k2 = make_key(*server, KeyRole::kAdmin, {"*"});
  CHECK(verified(*cli, k2.secret).has_value());
  auto late = open_keys(file);
  CHECK(verified(*late, k2.secret).has_value());
  CHECK_FALSE(verified(*late, k.secret).has_value());
  CHECK(late->list()->size() == 2);
}

TEST_CASE("key store: verify from many threads at once", "[key_store]") {
  test::TempDir dir;
  auto store = open_keys(dir.path() / "keys.db");
  auto writer = open_keys(dir.path() / "keys.db");
  NewKey k = make_key(*store);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto v = store->verify(k.secret);
        if (!v.ok() || !v->has_value()) ++failures;
      }
    });
  for (int i = 0; i < 5; ++i) make_key(*writer);  // other keys come and go meanwhile
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("key store: the file never holds a secret", "[key_store]") {
  test::TempDir dir;
  const auto file = dir.path() / "keys.db";
  std::vector<std::string> secrets;
  {
    auto store = open_keys(file);
    for (int i = 0; i < 3; ++i) secrets.push_back(make_key(*store).secret);
    REQUIRE(store->revoke(store->list()->front().id).ok());
    // Both the database and its WAL, while the store is open (nothing checkpointed yet).
    const std::string bytes = read_all(file) + read_all(file.string() + "-wal");
    REQUIRE_FALSE(bytes.empty());
    for (const std::string& s : secrets) {
      CHECK(bytes.find(s) == std::string::npos);
      CHECK(bytes.find(s.substr(15)) == std::string::npos);  // the random part alone
      CHECK(bytes.find(s.substr(15, 20)) == std::string::npos);
    }
  }
  const std::string after = read_all(file) + read_all(file.string() + "-wal");
  for (const std::string& s : secrets) CHECK(after.find(s.substr(15, 20)) == std::string::npos);
}

TEST_CASE("key store: validation", "[key_store]") {
  auto store = open_keys("");
  auto kind_of = [&](KeyRole role, std::vector<std::string> collections,
                     std::vector<std::string> origins, int rate, std::string name = "") {
    auto k = store->create(role, std::move(collections), std::move(origins), rate, name);
    return k.ok() ? ErrorKind::kInternal : k.error().kind;  // kInternal: it was accepted
  };
  constexpr auto kBad = ErrorKind::kInvalidInput;
  CHECK(kind_of(KeyRole::kReader, {}, {}, 0) == kBad);
  CHECK(kind_of(KeyRole::kReader, {"bad name"}, {}, 0) == kBad);
  CHECK(kind_of(KeyRole::kReader, {"docs", "a,b"}, {}, 0) == kBad);
  CHECK(kind_of(KeyRole::kReader, {""}, {}, 0) == kBad);
  CHECK(kind_of(KeyRole::kReader, {std::string(65, 'a')}, {}, 0) == kBad);
  CHECK(kind_of(KeyRole::kReader, {"*", "docs"}, {}, 0) == kBad);
  CHECK(kind_of(KeyRole::kReader, {"docs"}, {}, -1) == kBad);
  CHECK(kind_of(KeyRole::kReader, {"docs"}, {}, 100001) == kBad);
  CHECK(kind_of(KeyRole::kReader, {"docs"}, {}, 100000) == ErrorKind::kInternal);
  CHECK(kind_of(KeyRole::kReader, {"docs"}, {}, 0, std::string(129, 'n')) == kBad);
  CHECK(kind_of(KeyRole::kReader, {"docs"}, {}, 0, "tab\there") == kBad);
  CHECK(kind_of(KeyRole::kReader, {"docs"}, {}, 0, "\xff\xfe") == kBad);
  CHECK(kind_of(KeyRole::kReader, {"docs"}, {}, 0, "한국어 라벨") == ErrorKind::kInternal);
  for (std::string origin :
       {"example.com", "ftp://example.com", "https://example.com/path", "https://example.com/app/",
        "https://", "https://user@example.com", "https://example.com:0",
        "https://example.com:99999", "https://example.com:", "https://exa mple.com",
        "https://example.com?q=1", "https://example.com#x", "*", "null", "https://[::1",
        "https://.example.com", "https://a,b.com"}) {
    INFO(origin);
    CHECK(kind_of(KeyRole::kReader, {"docs"}, {origin}, 0) == kBad);
  }
  CHECK(store->list()->size() == 2);  // only the accepted ones were stored

  auto ok = store->create(KeyRole::kReader, {"docs", "docs"},
                          {"HTTPS://Example.COM:443/", "http://localhost:8080",
                           "https://example.com", "http://[::1]:80", "http://10.0.0.1:08080"},
                          0);
  REQUIRE(ok.ok());
  CHECK(ok->key.collections == std::vector<std::string>{"docs"});
  CHECK(ok->key.origins == std::vector<std::string>{"https://example.com", "http://localhost:8080",
                                                    "http://[::1]", "http://10.0.0.1:8080"});
}

TEST_CASE("key store: another application's file is left untouched", "[key_store]") {
  test::TempDir dir;
  { auto made = open_keys(dir.path() / "keys.db"); }
  std::filesystem::copy_file(dir.path() / "keys.db", dir.path() / "copy.db");
  CHECK(KeyStore::open(dir.path() / "copy.db").ok());
  const auto junk = dir.write("junk.db", "this is not a database at all, not even close........");
  auto bad = KeyStore::open(junk);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kIo);
  CHECK(read_all(junk) == "this is not a database at all, not even close........");
}
