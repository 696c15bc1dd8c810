#include "index/key_store.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "index/fs_util.h"
#include "index/sqlite_db.h"
#include "index/store.h"
#include "index/utf8.h"

namespace chaja {

namespace {

using sql::Db;
using sql::ResetOnExit;
using sql::Stmt;
using sql::Transaction;

constexpr int64_t kApplicationId = 0x4368634b;  // "ChcK" in the file header: Chaja keys
constexpr int kBusyMs = 5000;
constexpr const char* kWhat = "key store";
constexpr size_t kIdHexBytes = 4;       // the id's 8 hex characters
constexpr size_t kSecretHexBytes = 20;  // the secret's 40 hex characters
constexpr std::string_view kIdPrefix = "k_";
constexpr std::string_view kSecretPrefix = "chaja_";
constexpr size_t kMaxKeyName = 128;
constexpr size_t kMaxListEntries = 1000;  // collections, origins
constexpr int kMaxRate = 100000;

constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE keys(
  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 10),
  secret_sha256 TEXT NOT NULL CHECK (length(secret_sha256) = 64),
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  collections TEXT NOT NULL,
  origins TEXT NOT NULL,
  rate_per_minute INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER);
)sql",
};

// collections and origins are stored comma-separated: neither a collection name nor a
// normalised origin can contain a comma.
constexpr const char* kInsertSql =
    "INSERT INTO keys(id, secret_sha256, name, role, collections, origins, rate_per_minute,"
    " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kColumns =
    "id, secret_sha256, name, role, collections, origins, rate_per_minute, created_at,"
    " revoked_at IS NOT NULL";
constexpr const char* kRevokeSql =
    "UPDATE keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
constexpr const char* kExistsSql = "SELECT 1 FROM keys WHERE id = ?1";

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0; start < text.size();) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Error invalid(const std::string& message) {
  return make_error(ErrorKind::kInvalidInput, std::string(kWhat) + ": " + message);
}

Error in_store(const Error& e) {
  return make_error(e.kind, std::string(kWhat) + ": " + e.message);
}

void drop_duplicates(std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (std::string& s : items)
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  items = std::move(out);
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// A row of kColumns; the hash goes to *hash when asked for.
ApiKey key_of(const Stmt& r, std::string* hash) {
  ApiKey k;
  k.id = r.text(0);
  if (hash) *hash = r.text(1);
  k.name = r.text(2);
  auto role = parse_key_role(r.text(3));
  k.role = role ? *role : KeyRole::kReader;  // a CHECK-free column: an unknown role reads least
  k.collections = split(r.text(4));
  k.origins = split(r.text(5));
  k.rate_per_minute = static_cast<int>(r.int64(6));
  k.created_at = r.int64(7);
  k.revoked = r.int64(8) != 0;
  return k;
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* key_role_name(KeyRole role) {
  switch (role) {
    case KeyRole::kReader:
      return "reader";
    case KeyRole::kWriter:
      return "writer";
    case KeyRole::kAdmin:
      return "admin";
  }
  return "reader";
}

Result<KeyRole> parse_key_role(std::string_view name) {
  for (KeyRole r : {KeyRole::kReader, KeyRole::kWriter, KeyRole::kAdmin})
    if (name == key_role_name(r)) return r;
  return make_error(ErrorKind::kInvalidInput, "a key role is reader, writer or admin, not '" +
                                                  std::string(name.substr(0, 64)) + "'");
}

bool ApiKey::allows_collection(std::string_view c) const {
  return std::any_of(collections.begin(), collections.end(),
                     [&](const std::string& x) { return x == "*" || x == c; });
}

Result<std::string> normalize_origin(std::string_view origin) {
  auto bad = [&](const char* why) {
    return make_error(ErrorKind::kInvalidInput,
                      "origin '" + std::string(origin.substr(0, 200)) + "' " + why +
                          " (an origin is http(s)://host[:port], with no path)");
  };
  std::string o(origin);
  std::transform(o.begin(), o.end(), o.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  if (o.ends_with('/')) o.pop_back();
  std::string_view rest = o;
  bool https = false;
  if (rest.starts_with("https://")) {
    https = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad("is not http:// or https://");
  }
  if (rest.find_first_of("/?#") != std::string_view::npos) return bad("has a path");
  if (rest.find('@') != std::string_view::npos) return bad("has user info");
  std::string_view host = rest, port;
  if (rest.starts_with('[')) {  // an IPv6 literal
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '['");
    host = rest.substr(0, close + 1);
    const std::string_view inner = rest.substr(1, close - 1);
    if (inner.empty() || !std::all_of(inner.begin(), inner.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
        }))
      return bad("has an invalid IPv6 address");
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return bad("has text after the address");
      port = after.substr(1);
      if (port.empty()) return bad("has an empty port");
    }
  } else {
    const size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return bad("has an empty port");
    }
    if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.' ||
        host.front() == '-' || !std::all_of(host.begin(), host.end(), is_host_char))
      return bad("has an invalid host");
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("has an invalid port");
    const int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return bad("has a port out of range");
    if ((https && p == 443) || (!https && p == 80)) port = {};
  }
  std::string out = https ? "https://" : "http://";
  out += host;
  if (!port.empty()) {
    out += ':';
    out += std::to_string(std::stoi(std::string(port)));  // no leading zeros
  }
  return out;
}

struct KeyStore::Impl {
  std::mutex mu;  // guards everything below: one call at a time
  std::unique_ptr<Db> db;
  // Declared after db: finalized before the connection closes.
  std::optional<Stmt> insert, revoke, exists, version_query, active, all;

  // The active keys by id with their secrets' SHA-256 (hex), as of data_version.
  struct Active {
    ApiKey key;
    std::string hash;
  };
  std::unordered_map<std::string, Active> snapshot;
  bool loaded = false;
  int64_t data_version = 0;

  // Reloads the snapshot when another connection committed since the last load (or this one
  // wrote: it then clears `loaded`, as its own commits do not change data_version).
  Status refresh();
};

Status KeyStore::Impl::refresh() {
  int64_t version = 0;
  {
    Stmt& q = *version_query;
    ResetOnExit reset(q);
    auto row = q.step();
    if (!row) return in_store(row.error());
    version = *row ? q.int64(0) : 0;
  }
  if (loaded && version == data_version) return {};
  std::unordered_map<std::string, Active> fresh;
  {
    Stmt& q = *active;
    ResetOnExit reset(q);
    Status s = q.each([&](Stmt& r) {
      Active a;
      a.key = key_of(r, &a.hash);
      std::string id = a.key.id;
      fresh.emplace(std::move(id), std::move(a));
    });
    if (!s) return in_store(s.error());
  }
  snapshot = std::move(fresh);
  data_version = version;
  loaded = true;
  return {};
}

KeyStore::KeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyStore::~KeyStore() = default;

Result<std::unique_ptr<KeyStore>> KeyStore::open(const std::filesystem::path& file) {
  if (!file.empty() && file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec)
      return make_error(ErrorKind::kIo, "cannot create folder " + file.parent_path().string() +
                                            ": " + ec.message());
  }
  const std::string path = file.empty() ? ":memory:" : file.string();
  auto impl = std::make_unique<Impl>();
  auto db = Db::open(path, false);
  if (!db) return db.error();
  impl->db = std::move(*db);
  Db& d = *impl->db;
  const std::string where = std::string(kWhat) + " " + path;
  const sql::VersionedSchema schema{kWhat, kApplicationId, kMigrations, std::size(kMigrations)};
  if (Status s = sql::open_versioned_schema(d, where, schema, kBusyMs); !s) return s.error();

  const std::string active_sql =
      std::string("SELECT ") + kColumns + " FROM keys WHERE revoked_at IS NULL";
  const std::string all_sql =
      std::string("SELECT ") + kColumns + " FROM keys ORDER BY created_at, rowid";
  for (auto [slot, sql] : {std::pair{&impl->insert, std::string(kInsertSql)},
                           std::pair{&impl->revoke, std::string(kRevokeSql)},
                           std::pair{&impl->exists, std::string(kExistsSql)},
                           std::pair{&impl->version_query, std::string("PRAGMA data_version")},
                           std::pair{&impl->active, active_sql}, std::pair{&impl->all, all_sql}}) {
    auto stmt = d.prepare(sql);
    if (!stmt) return d.error(where + ": prepare");
    slot->emplace(std::move(*stmt));
  }
  return std::unique_ptr<KeyStore>(new KeyStore(std::move(impl)));
}

Result<NewKey> KeyStore::create(KeyRole role, std::vector<std::string> collections,
                                std::vector<std::string> origins, int rate_per_minute,
                                std::string name) {
  drop_duplicates(collections);
  if (collections.empty()) return invalid("a key needs at least one collection (or \"*\")");
  if (collections.size() > kMaxListEntries)
    return invalid("a key lists at most " + std::to_string(kMaxListEntries) + " collections");
  for (const std::string& c : collections) {
    if (c == "*") {
      if (collections.size() > 1)
        return invalid("\"*\" (all collections) cannot be combined with named ones");
      continue;
    }
    if (Status s = check_collection_name(c); !s) return invalid(s.error().message);
  }
  if (origins.size() > kMaxListEntries)
    return invalid("a key lists at most " + std::to_string(kMaxListEntries) + " origins");
  for (std::string& o : origins) {
    auto n = normalize_origin(o);
    if (!n) return invalid(n.error().message);
    o = std::move(*n);
  }
  drop_duplicates(origins);
  if (rate_per_minute < 0 || rate_per_minute > kMaxRate)
    return invalid("rate_per_minute must be from 0 (no limit) to " + std::to_string(kMaxRate));
  if (name.size() > kMaxKeyName)
    return invalid("a key name is at most " + std::to_string(kMaxKeyName) + " bytes");
  if (!utf8::is_valid(name) || std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      }))
    return invalid("a key name is UTF-8 text without control characters");

  NewKey out;
  out.key.name = std::move(name);
  out.key.role = role;
  out.key.collections = std::move(collections);
  out.key.origins = std::move(origins);
  out.key.rate_per_minute = rate_per_minute;
  out.key.created_at = now_seconds();

  std::lock_guard<std::mutex> lock(impl_->mu);
  // 32 random bits of id: a collision is rare but possible; the secret part is what protects.
  for (int attempt = 0;; ++attempt) {
    auto id_hex = random_hex(kIdHexBytes);
    if (!id_hex) return in_store(id_hex.error());
    auto secret_hex = random_hex(kSecretHexBytes);
    if (!secret_hex) return in_store(secret_hex.error());
    out.key.id = std::string(kIdPrefix) + *id_hex;
    out.secret = std::string(kSecretPrefix) + *id_hex + "_" + *secret_hex;
    const std::string hash = sha256_hex(out.secret);
    if (hash.size() != 64) return make_error(ErrorKind::kInternal, "SHA-256 failed (OpenSSL)");

    Stmt& ins = *impl_->insert;
    ResetOnExit reset(ins);
    ins.bind(1, out.key.id)
        .bind(2, hash)
        .bind(3, out.key.name)
        .bind(4, key_role_name(role))
        .bind(5, join(out.key.collections))
        .bind(6, join(out.key.origins))
        .bind(7, int64_t{rate_per_minute})
        .bind(8, out.key.created_at);
    Status s = ins.run();  // one statement: its own transaction
    if (s) break;
    const bool collided =
        sqlite3_extended_errcode(impl_->db->raw()) == SQLITE_CONSTRAINT_PRIMARYKEY;
    if (!collided || attempt >= 4) return in_store(s.error());
  }
  impl_->loaded = false;  // our own commit does not change data_version
  return out;
}

Result<std::optional<ApiKey>> KeyStore::verify(std::string_view secret) {
  // chaja_XXXXXXXX_ + 40 hex
  constexpr size_t kIdHex = 2 * kIdHexBytes, kSecretHex = 2 * kSecretHexBytes;
  constexpr size_t kLength = kSecretPrefix.size() + kIdHex + 1 + kSecretHex;
  if (secret.size() != kLength || !secret.starts_with(kSecretPrefix) ||
      secret[kSecretPrefix.size() + kIdHex] != '_' ||
      !is_hex(secret.substr(kSecretPrefix.size(), kIdHex)) ||
      !is_hex(secret.substr(kSecretPrefix.size() + kIdHex + 1)))
    return std::optional<ApiKey>();
  const std::string id =
      std::string(kIdPrefix) + std::string(secret.substr(kSecretPrefix.size(), kIdHex));
  const std::string hash = sha256_hex(secret);  // outside the lock
  if (hash.size() != 64) return make_error(ErrorKind::kInternal, "SHA-256 failed (OpenSSL)");

  std::lock_guard<std::mutex> lock(impl_->mu);
  if (Status s = impl_->refresh(); !s) return s.error();
  auto it = impl_->snapshot.find(id);
  if (it == impl_->snapshot.end() || it->second.hash.size() != hash.size() ||
      CRYPTO_memcmp(it->second.hash.data(), hash.data(), hash.size()) != 0)
    return std::optional<ApiKey>();
  return std::optional<ApiKey>(it->second.key);
}

Result<std::vector<ApiKey>> KeyStore::list() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<ApiKey> out;
  Stmt& q = *impl_->all;
  ResetOnExit reset(q);
  Status s = q.each([&](Stmt& r) { out.push_back(key_of(r, nullptr)); });
  if (!s) return in_store(s.error());
  return out;
}

Status KeyStore::revoke(std::string_view id) {
  auto not_found = [&] {
    return make_error(ErrorKind::kNotFound,
                      "no API key with id '" + std::string(id.substr(0, 64)) + "'");
  };
  if (id.size() != kIdPrefix.size() + 2 * kIdHexBytes || !id.starts_with(kIdPrefix) ||
      !is_hex(id.substr(kIdPrefix.size())))
    return not_found();
  std::lock_guard<std::mutex> lock(impl_->mu);
  Db& d = *impl_->db;
  Transaction tx(d);
  if (!tx.begin()) return d.error("key store: begin");
  {
    Stmt& q = *impl_->exists;
    ResetOnExit reset(q);
    auto row = q.bind(1, id).step();
    if (!row) return in_store(row.error());
    if (!*row) return not_found();
  }
  {
    Stmt& up = *impl_->revoke;
    ResetOnExit reset(up);
    if (Status s = up.bind(1, id).bind(2, now_seconds()).run(); !s) return in_store(s.error());
  }
  if (!tx.commit()) return d.error("key store: commit");
  impl_->loaded = false;
  return {};
}

Result<bool> KeyStore::any_active() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (Status s = impl_->refresh(); !s) return s.error();
  return !impl_->snapshot.empty();
}

}  // namespace chaja
