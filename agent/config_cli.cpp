#include "agent/config_cli.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/model_answer.h"
#include "connectors/provider.h"

namespace chaja {

namespace {

using cli::Args;

bool is_secret(const ConfigVariable& v) {
  return v.key == "api_key";
}

// A URL as safe to print: no user:password@, no query (either may carry a key).
std::string shown_url(const std::string& url) {
  std::string out = url.substr(0, url.find_first_of("?#"));
  const size_t scheme = out.find("://");
  const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t at = out.find('@', host);
  if (at != std::string::npos && out.find('/', host) > at) out.erase(host, at + 1 - host);
  if (out.size() < url.size()) out += " (query left out)";
  return out;
}

// One setting as the summary shows it: where a secret comes from, other values as they are.
std::string describe(const ConfigVariable& v, const FileConfig& config, const Env& process) {
  const auto env = process.find(v.variable);
  const bool from_env = env != process.end() && !env->second.empty();
  if (is_secret(v)) {
    if (from_env) return v.key + " from env (" + v.variable + ")";
    return v.key + (config.from_files.count(v.variable) ? " from file" : " set");
  }
  if (from_env) return v.key + " " + shown_url(env->second) + " (from env " + v.variable + ")";
  return v.key + " " + shown_url(config.provider_env.at(v.variable));
}

// "openai: api_key from file, base_url https://..." for each provider or backend of `section`
// that the file or the environment configures.
std::vector<std::string> configured(const std::string& section, const FileConfig& config,
                                    const Env& process) {
  std::map<std::string, std::string> by_owner;
  std::vector<std::string> order;
  for (const ConfigVariable& v : config_variables()) {
    if (v.section != section) continue;
    const auto env = process.find(v.variable);
    const bool set =
        (env != process.end() && !env->second.empty()) || config.provider_env.count(v.variable) > 0;
    if (!set) continue;
    auto [it, fresh] = by_owner.emplace(v.owner, "");
    if (fresh) order.push_back(v.owner);
    it->second += (it->second.empty() ? "" : ", ") + describe(v, config, process);
  }
  std::vector<std::string> out;
  for (const std::string& owner : order) out.push_back(owner + ": " + by_owner[owner]);
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

int config_check(const Args& a) {
  if (a.positional.size() != 1) return cli::usage_error("config check takes no arguments");
  std::string path = a.value("--config");
  if (path.empty())
    if (const char* env = std::getenv("CHAJA_CONFIG"); env != nullptr) path = env;
  if (path.empty()) return cli::usage_error("config check needs --config FILE (or CHAJA_CONFIG)");
  auto config = load_config(path);
  if (!config) {
    std::fprintf(stderr, "chaja: %s\n", config.error().message.c_str());
    return config.error().kind == ErrorKind::kInvalidInput ||
                   config.error().kind == ErrorKind::kTooLarge
               ? cli::kExitUsage
               : cli::kExitError;
  }
  const Env process = from_process_env();
  std::vector<std::string> origins = config->cors_origins;
  std::string origins_from = "";
  if (const char* env = std::getenv("CHAJA_CORS_ORIGINS"); env && *env) {
    auto parsed = parse_origins(env);
    if (!parsed) {
      std::fprintf(stderr, "chaja: CHAJA_CORS_ORIGINS: %s\n", parsed.error().message.c_str());
      return cli::kExitUsage;
    }
    origins = std::move(*parsed);
    origins_from = " (from env CHAJA_CORS_ORIGINS)";
  }

  std::printf("config ok: %s\n", path.c_str());
  const std::string model = config->default_model.empty() ? "extractive" : config->default_model;
  std::printf("  default model: %s%s\n", model.c_str(),
              config->default_model.empty() ? " (none set: the built-in default)" : "");
  std::printf("  embedder: %s\n", config->embedder.empty() ? "builtin (none set: the default)"
                                                           : config->embedder.c_str());
  const auto providers = configured("providers", *config, process);
  std::printf("  providers:%s\n", providers.empty() ? " none configured" : "");
  for (const std::string& p : providers) std::printf("    %s\n", p.c_str());
  const auto web = configured("web", *config, process);
  std::printf("  web search:%s\n", web.empty() ? " none configured" : "");
  for (const std::string& w : web) std::printf("    %s\n", w.c_str());
  std::printf("  cors origins: %s%s\n", origins.empty() ? "none" : joined(origins).c_str(),
              origins_from.c_str());

  // The default model's providers, made from the merged settings without calling them: one that
  // is not configured would fail every answer that names no model.
  auto registry = make_provider_registry(merged_env(*config, process), config->settings);
  auto chain = parse_model_chain(model);
  if (chain) {
    for (const ModelName& m : *chain) {
      if (m.provider == "extractive") continue;
      if (auto p = registry->provider(m.provider); !p)
        std::fprintf(stderr, "chaja: warning: default model %s: %s\n", m.full().c_str(),
                     p.error().message.c_str());
    }
  }
  return cli::kExitOk;
}

}  // namespace

int cmd_config(const Args& a) {
  const std::string sub = a.positional.empty() ? "" : a.positional[0];
  if (sub == "check") return config_check(a);
  return cli::usage_error(sub.empty() ? "config needs a subcommand: check"
                                      : "unknown config subcommand '" + sub + "' (check)");
}

}  // namespace chaja
