// The configuration file (JSON): provider keys and base URLs, LLM call limits, the default model.
// Environment variables (CONTRACT §2) override it, so a deployment can keep the file in version
// control and the secrets in the environment, or the secrets in files (`api_key_file`).
//
//   {
//     "default_model": "clova:HCX-005,openai:gpt-4o-mini,extractive",
//     "embedder": "ollama:nomic-embed-text",
//     "providers": {
//       "openai":        {"api_key_file": "/run/secrets/openai", "base_url": "https://..."},
//       "anthropic":     {"api_key": "..."},
//       "mistral":       {"api_key": "..."},
//       "ollama":        {"host": "http://gpu-box:11434"},
//       "openai-compat": {"base_url": "http://127.0.0.1:8081/v1", "api_key": "..."},
//       "clova":         {"api_key_file": "/run/secrets/clova"}
//     },
//     "llm": {"connect_timeout_ms": 10000, "first_byte_timeout_ms": 120000,
//             "idle_timeout_ms": 60000, "total_timeout_ms": 600000,
//             "max_attempts": 3, "max_concurrency": 8},
//     "web": {"searxng": {"url": "http://127.0.0.1:8888"},
//             "brave": {"api_key_file": "/run/secrets/brave"}, "tavily": {"api_key": "..."},
//             "order": "searxng,brave", "results": 8, "pages": 6,
//             "search_timeout_ms": 15000, "page_timeout_ms": 5000, "total_timeout_ms": 8000,
//             "max_page_bytes": 2097152, "respect_robots": true, "allow": "10.0.0.0/8",
//             "cache": true, "cache_ttl_s": 3600},
//     "server": {"cors_origins": ["https://intranet.example.com"], "max_body_bytes": 16777216,
//                "job_threshold_bytes": 1048576, "max_streams_per_key": 8, "threads": 32,
//                "read_timeout_s": 15, "write_timeout_s": 10, "drain_seconds": 20}
//   }
//
// Input is hostile: at most 1 MiB, valid JSON, known keys only, each of the right type and
// range; any error names the file, the line and the key. Secrets are never echoed in errors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/web_retrieval.h"
#include "connectors/provider.h"
#include "index/result.h"

namespace chaja {

// "server": the HTTP server's limits; 0 keeps the built-in default (agent/server.h).
struct ServerLimits {
  int64_t max_body_bytes = 0;       // larger request bodies get 413 (16 MiB)
  int64_t job_threshold_bytes = 0;  // uploads with more text become jobs (1 MiB)
  int64_t max_streams_per_key = 0;  // concurrent streams per key, then 429 (8)
  int64_t threads = 0;              // connections served at once (32)
  int64_t read_timeout_s = 0;       // a client that stops sending is dropped (15)
  int64_t write_timeout_s = 0;      // a client that stops reading is dropped (10)
  int64_t drain_seconds = 0;        // after SIGTERM, how long streams may finish (20)
};

struct FileConfig {
  Env provider_env;  // the providers' settings as the CONTRACT's variable names
  ProviderSettings settings;
  std::string default_model;  // "" when the file names none
  std::string embedder;       // for collections not yet bound to one; "" for builtin
  WebSettings web;            // the backends' keys and URLs go to provider_env
  // "server": {"cors_origins": ["https://intranet.example.com"]}: pages of these origins may
  // call the API (normalised; CHAJA_CORS_ORIGINS, comma-separated, replaces the list).
  std::vector<std::string> cors_origins;
  // The variables of provider_env whose value was read from an api_key_file (the rest were
  // written in the file itself).
  std::set<std::string> from_files;
  ServerLimits limits;
};

// A setting the file and the environment share: the section ("providers" or "web"), the
// provider or search backend, its key in the file and the variable that overrides it.
struct ConfigVariable {
  std::string section;
  std::string owner;
  std::string key;
  std::string variable;
};

// Every such setting, providers first, in a stable order.
std::vector<ConfigVariable> config_variables();

// "https://a.example.com, http://127.0.0.1:8080" as normalised origins; kInvalidInput naming the
// first bad one.
Result<std::vector<std::string>> parse_origins(std::string_view comma_separated);

// Parses a configuration file's text; `name` is used in error messages. A default model must
// parse as a model name or fallback chain of known providers.
Result<FileConfig> parse_config(std::string_view text, const std::string& name);

// Reads and parses a configuration file (kInvalidInput for a bad one, kNotFound for none).
Result<FileConfig> load_config(const std::filesystem::path& path);

// The environment the providers see: the file's values, overridden by the process environment.
Env merged_env(const FileConfig& config, const Env& process);

}  // namespace chaja
