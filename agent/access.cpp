#include "agent/access.h"

#include "index/store.h"

namespace chaja {

Status permits(const Caller& caller, Action action) {
  if (!caller.key) return {};
  const KeyRole role = caller.key->role;
  const bool ok = role == KeyRole::kAdmin || action == Action::kRead ||
                  (action == Action::kWrite && role == KeyRole::kWriter);
  if (ok) return {};
  return make_error(ErrorKind::kForbidden,
                    std::string("a ") + key_role_name(role) + " key may not do this (it needs a " +
                        (action == Action::kWrite ? "writer" : "admin") + " key)");
}

bool sees_collection(const Caller& caller, const std::string& collection) {
  return !caller.key || caller.key->allows_collection(collection);
}

Result<std::string> scope_collection(const Caller& caller, const std::string& requested) {
  if (sees_collection(caller, requested)) return requested;
  const std::vector<std::string>& own = caller.key->collections;
  if (requested == kDefaultCollection && own.size() == 1 && own[0] != "*") return own[0];
  return unknown_collection(requested);
}

std::string owner_of(const Caller& caller) {
  return caller.key ? caller.key->id : std::string();
}

}  // namespace chaja
