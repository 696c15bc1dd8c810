#include "agent/keys_cli.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "index/key_store.h"

namespace chaja {

namespace {

using cli::Args;
using cli::fail;
using cli::kExitError;
using cli::kExitOk;
using cli::usage_error;
using json = nlohmann::json;

constexpr const char* kKeysUsage = "keys create|list|revoke";

Result<std::unique_ptr<KeyStore>> open_keys(const Args& a) {
  return KeyStore::open(cli::data_dir(a) / "keys.db");
}

// "a,b,,c" → {"a", "b", "c"}; spaces around items are dropped.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    const size_t b = item.find_first_not_of(" \t");
    const size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& items, const char* none) {
  if (items.empty()) return none;
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string utc_time(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json key_json(const ApiKey& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"role", key_role_name(k.role)},
          {"collections", k.collections},
          {"origins", k.origins},
          {"rate_per_minute", k.rate_per_minute},
          {"created_at", k.created_at},
          {"revoked", k.revoked}};
}

int keys_create(const Args& a) {
  if (a.positional.size() != 1) return usage_error("keys create takes no arguments, only options");
  if (!a.values.count("--role")) return usage_error("keys create needs --role reader|writer|admin");
  auto role = parse_key_role(a.value("--role"));
  if (!role) return usage_error(role.error().message);
  std::vector<std::string> collections = split_list(a.value("--collections"));
  if (collections.empty()) {
    if (*role != KeyRole::kAdmin)
      return usage_error(std::string("a ") + key_role_name(*role) +
                         " key needs --collections A,B (or '*' for all)");
    collections = {"*"};
  }
  int rate = 0;
  if (a.values.count("--rate")) {
    const std::string text = a.value("--rate");
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(text, &used);
    } catch (...) {
    }
    if (text.empty() || used != text.size() || v < 0 || v > 100000)
      return usage_error(
          "--rate must be a number of requests a minute from 0 (no limit) to 100000");
    rate = static_cast<int>(v);
  }
  auto keys = open_keys(a);
  if (!keys) return fail(keys.error());
  auto made = (*keys)->create(*role, std::move(collections), split_list(a.value("--origins")), rate,
                              a.value("--name"));
  if (!made) return fail(made.error());  // a validation error exits 2
  const ApiKey& k = made->key;
  if (a.flag("--json")) {
    json j = {{"key", made->secret},
              {"id", k.id},
              {"name", k.name},
              {"role", key_role_name(k.role)},
              {"collections", k.collections},
              {"origins", k.origins},
              {"rate_per_minute", k.rate_per_minute}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s\n", made->secret.c_str());
    std::fprintf(stderr,
                 "chaja: created %s key %s (collections %s); save the key above now: it will not "
                 "be shown again\n",
                 key_role_name(k.role), k.id.c_str(), joined(k.collections, "-").c_str());
  }
  return kExitOk;
}

int keys_list(const Args& a) {
  if (a.positional.size() != 1) return usage_error("keys list takes no arguments");
  auto keys = open_keys(a);
  if (!keys) return fail(keys.error());
  auto all = (*keys)->list();
  if (!all) return fail(all.error());
  if (a.flag("--json")) {
    json arr = json::array();
    for (const ApiKey& k : *all) arr.push_back(key_json(k));
    std::printf("%s\n", arr.dump().c_str());
    return kExitOk;
  }
  if (all->empty()) {
    std::printf("no API keys (create one with: chaja keys create --role R --collections C)\n");
    return kExitOk;
  }
  std::printf("%-10s  %-6s  %-24s  %-32s  %6s  %-20s  %-7s  %s\n", "id", "role", "collections",
              "origins", "rate", "created", "revoked", "name");
  for (const ApiKey& k : *all)
    std::printf("%-10s  %-6s  %-24s  %-32s  %6d  %-20s  %-7s  %s\n", k.id.c_str(),
                key_role_name(k.role), joined(k.collections, "-").c_str(),
                joined(k.origins, "-").c_str(), k.rate_per_minute, utc_time(k.created_at).c_str(),
                k.revoked ? "yes" : "no", k.name.c_str());
  return kExitOk;
}

int keys_revoke(const Args& a) {
  if (a.positional.size() != 2) return usage_error("keys revoke needs one key id (see keys list)");
  const std::string& id = a.positional[1];
  auto keys = open_keys(a);
  if (!keys) return fail(keys.error());
  auto all = (*keys)->list();
  if (!all) return fail(all.error());
  bool was_revoked = false;
  for (const ApiKey& k : *all)
    if (k.id == id) was_revoked = k.revoked;
  if (Status s = (*keys)->revoke(id); !s) {
    if (s.error().kind == ErrorKind::kNotFound)
      std::fprintf(stderr, "chaja: %s (see chaja keys list)\n", s.error().message.c_str());
    else
      std::fprintf(stderr, "chaja: %s\n", s.error().message.c_str());
    return kExitError;
  }
  std::printf(was_revoked ? "key %s was already revoked\n" : "revoked key %s\n", id.c_str());
  return kExitOk;
}

}  // namespace

int cmd_keys(const Args& a) {
  const std::string sub = a.positional.empty() ? "" : a.positional[0];
  if (sub == "create") return keys_create(a);
  if (sub == "list") return keys_list(a);
  if (sub == "revoke") return keys_revoke(a);
  return usage_error(sub.empty() ? std::string("keys needs a subcommand: ") + kKeysUsage
                                 : "unknown keys subcommand '" + sub + "' (" + kKeysUsage + ")");
}

}  // namespace chaja
