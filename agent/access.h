// Who may do what: the API-key policy every route applies (CONTRACT §3, docs/api.md "Keys").
//
// While no key exists the server is open: every caller may do everything (a local tool). Once a
// key exists, each request carries one; its role says what it may do (reader: search, ask and
// its own threads; writer: also add and remove documents; admin: also metrics and audit) and its
// collections say where. A collection the key may not use answers exactly as an unknown one
// does (404, the same message), so a key cannot even learn that another tenant's collection
// exists. Threads belong to the key that started them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "index/key_store.h"
#include "index/result.h"

namespace chaja {

struct Caller {
  std::optional<ApiKey> key;  // nullopt: the server is open (no key exists)
};

enum class Action { kRead, kWrite, kAdmin };

// kForbidden unless the caller's role allows the action.
Status permits(const Caller& caller, Action action);

// Whether the caller may see the collection's documents.
bool sees_collection(const Caller& caller, const std::string& collection);

// The collection a request works on: `requested` when the caller may use it. A key limited to one
// collection that asks the default one (a request naming none) gets its own. Otherwise the
// error of an unknown collection.
Result<std::string> scope_collection(const Caller& caller, const std::string& requested);

// Whose threads the caller's are: the key's id, or "" on an open server.
std::string owner_of(const Caller& caller);

}  // namespace chaja
