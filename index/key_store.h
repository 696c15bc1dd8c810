// API keys for the server, in their own SQLite file, <data>/keys.db. Created and revoked by
// `chaja keys`; the server checks every request's key against it.
//
// A key has a public id ("k_" + 8 hex, shown by list and used to revoke) and a secret,
// "chaja_" + the id's 8 hex + "_" + 40 hex (160 bits from /dev/urandom), shown once by create and
// never stored: the file holds only its SHA-256, compared in constant time.
//
// Thread safety: one KeyStore may be used by any number of threads at once (one mutex). verify()
// and any_active() run on every request: they answer from an in-memory snapshot of the active keys
// and only check PRAGMA data_version (no query) unless the file changed, so a key created or
// revoked by another process (the CLI) takes effect on the next call, without a restart.
// Several processes may open the same file; writes take SQLite's write lock and wait up to 5 s.
//
// Durability: WAL with synchronous=FULL; a create or revoke that returned ok survives kill -9.
// Schema: versioned by PRAGMA user_version under its own application_id (see sql::VersionedSchema).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/result.h"

namespace chaja {

enum class KeyRole { kReader, kWriter, kAdmin };

const char* key_role_name(KeyRole role);  // "reader" | "writer" | "admin"
// "reader", "writer" or "admin"; kInvalidInput otherwise.
Result<KeyRole> parse_key_role(std::string_view name);

struct ApiKey {
  std::string id;    // public id, "k_" + 8 lowercase hex
  std::string name;  // optional label ("" if none)
  KeyRole role = KeyRole::kReader;
  std::vector<std::string> collections;  // the collections it may use; {"*"} means all
  std::vector<std::string> origins;  // browser origins allowed to use it cross-origin, normalised
                                     // as normalize_origin returns them; empty: none
  int rate_per_minute = 0;           // 0: no limit
  int64_t created_at = 0;            // unix seconds
  bool revoked = false;

  bool allows_collection(std::string_view c) const;  // "*" or listed
};

struct NewKey {
  ApiKey key;
  std::string secret;  // shown once, never stored
};

// An origin as browsers send it: "http(s)://host[:port]", lowercased, without a default port
// (:80 for http, :443 for https) and without a trailing "/". kInvalidInput for anything else
// (another scheme, a path, a query, user info, an empty host, a bad port).
Result<std::string> normalize_origin(std::string_view origin);

class KeyStore {
 public:
  // Opens or creates the store file (missing parent folders are created); "" = a private
  // in-memory store. Errors: kUnsupported (a newer schema), kIo (cannot create or open; not a
  // SQLite file; another application's database), kUnavailable (a lock held for over 5 s).
  static Result<std::unique_ptr<KeyStore>> open(const std::filesystem::path& file);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // A new active key; its secret is in the result only. kInvalidInput unless: collections is not
  // empty and each is a valid collection name or "*" (alone); each origin passes
  // normalize_origin (stored normalised); rate_per_minute is 0..100000; name is at most 128
  // bytes of UTF-8 without control characters. Duplicate collections and origins are dropped.
  Result<NewKey> create(KeyRole role, std::vector<std::string> collections,
                        std::vector<std::string> origins, int rate_per_minute,
                        std::string name = "");

  // The active key the secret belongs to; std::nullopt for an unknown, revoked or malformed
  // secret (not an error). An Error only when the file cannot be read.
  Result<std::optional<ApiKey>> verify(std::string_view secret);

  // All keys, revoked ones included, oldest first. Never secrets (the store has none).
  Result<std::vector<ApiKey>> list();

  // Revokes the key: verify() no longer accepts it, here and (on their next call) in every other
  // process. Revoking a revoked key is ok and changes nothing. kNotFound if there is no such id.
  Status revoke(std::string_view id);

  // Whether at least one key is active (not revoked).
  Result<bool> any_active();

 private:
  struct Impl;
  explicit KeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaja
