// LLM providers by name: the Provider interface, the registry keyed by provider name, and the
// configuration of each provider from the environment variables CONTRACT §2 names.
//
// A Provider makes chat models (and, where the provider has them, embedders) for its model names
// and lists its models (the cheap call `chaja models` makes). A provider is configured once from
// an Env; the registry makes each provider on first use and keeps it, so every model of one
// provider shares its HTTP settings and its concurrency limit.
//
// Configuration (an empty value counts as unset; values are trimmed):
//   openai         OPENAI_API_KEY (required), OPENAI_BASE_URL (default https://api.openai.com/v1)
//   mistral        MISTRAL_API_KEY (required), MISTRAL_BASE_URL (default https://api.mistral.ai/v1)
//   openai-compat  OPENAI_COMPAT_BASE_URL (required: there is no standard local port),
//                  OPENAI_COMPAT_API_KEY (optional; llama.cpp --api-key, vLLM --api-key)
//   anthropic      ANTHROPIC_API_KEY (required), ANTHROPIC_BASE_URL (default
//   https://api.anthropic.com) ollama         OLLAMA_HOST (default http://127.0.0.1:11434),
//   OLLAMA_API_KEY (optional) clova          CLOVASTUDIO_API_KEY (required), CLOVASTUDIO_BASE_URL
//   (default
//                  https://clovastudio.stream.ntruss.com)
// These three take a root URL: their API paths carry their own version prefix.
// A base URL is the provider root the API paths hang under, as the OpenAI SDKs take it
// ("https://api.openai.com/v1"); one given without any path ("http://127.0.0.1:8080") gets "/v1"
// appended. It must be http:// or https://.
// A missing required variable is kUnavailable with a message naming it; a malformed base URL is
// kUnavailable naming its variable too (the provider cannot be used as configured).
// Thread safety: Provider methods and the registry are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/chat.h"
#include "connectors/codec.h"
#include "connectors/http_call.h"
#include "connectors/model_name.h"
#include "index/embedder.h"
#include "index/result.h"

namespace chaja {

// Environment variables by name; tests pass explicit maps.
using Env = std::map<std::string, std::string>;

// The process environment, read once per call.
Env from_process_env();

// The trimmed value of a variable, or `fallback` when it is unset or empty.
std::string env_value(const Env& env, const std::string& name, const std::string& fallback = "");

// Knobs shared by every provider (the config file may set them; tests use tiny delays).
struct ProviderSettings {
  HttpTimeouts timeouts;
  RetryPolicy retry;
  int max_concurrency = 8;  // calls in flight per provider; <= 0: no limit
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string name() const = 0;
  // A chat model for the provider's own model name ("gpt-4o-mini").
  virtual Result<std::unique_ptr<ChatModel>> chat_model(const std::string& model) const = 0;
  // An embedder, or kUnsupported when the provider has none.
  virtual Result<std::unique_ptr<Embedder>> embedder(const std::string& model) const;
  // The provider's model names, one cheap call bounded by `timeout` (no retries).
  virtual Result<std::vector<std::string>> list_models(std::chrono::milliseconds timeout) const = 0;
};

// A provider over HTTP with a ChatCodec; what the OpenAI family uses, and what anthropic, ollama
// and clova can use by filling in their codec, model-list path and embedder factory.
class HttpProvider : public Provider {
 public:
  struct Config {
    std::string name;                        // "openai"
    std::shared_ptr<const ChatCodec> codec;  // chat wire format; also auth headers and errors
    std::string base_url;                    // provider root
    std::string api_key;                     // "" when the provider needs none
    HttpCallOptions call;                    // provider, key_variable, timeouts, retry, limiter
    std::string models_path;                 // GET below base_url for list_models ("/models")
    // Embedder for a model name; null: kUnsupported.
    std::function<Result<std::unique_ptr<Embedder>>(const std::string& model)> embedder;
  };

  explicit HttpProvider(Config config);

  std::string name() const override { return config_.name; }
  Result<std::unique_ptr<ChatModel>> chat_model(const std::string& model) const override;
  Result<std::unique_ptr<Embedder>> embedder(const std::string& model) const override;
  Result<std::vector<std::string>> list_models(std::chrono::milliseconds timeout) const override;

  const Config& config() const { return config_; }

 private:
  Config config_;
  mutable HttpClientPool pool_;
};

// Model names from a model-list body: OpenAI/Mistral/Anthropic/llama.cpp/vLLM `{"data":[{"id"}]}`
// and Ollama `{"models":[{"name"}]}` (also "model" or "id"). kUpstream when it is neither.
Result<std::vector<std::string>> parse_model_list(std::string_view body,
                                                  const std::string& provider);

// A base URL checked (http or https) and completed ("/v1" when it has no path), or kUnavailable
// naming the variable it came from.
// append_v1 = false for providers whose paths carry their version (anthropic, ollama, clova).
Result<std::string> normalise_base_url(const std::string& url, const std::string& variable,
                                       bool append_v1 = true);

class ProviderRegistry {
 public:
  using Factory =
      std::function<Result<std::unique_ptr<Provider>>(const Env&, const ProviderSettings&)>;

  explicit ProviderRegistry(Env env, ProviderSettings settings = {});

  void add(const std::string& name, Factory factory);
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;

  // The provider, made from the environment on first use and kept. kInvalidInput for an unknown
  // name; the factory's error (kUnavailable naming the variable) when it is not configured.
  Result<std::shared_ptr<Provider>> provider(const std::string& name);
  // "provider:model" → a chat model (the agent's ChatModelFactory).
  Result<std::unique_ptr<ChatModel>> chat_model(const ModelName& name);
  Result<std::unique_ptr<Embedder>> embedder(const std::string& provider, const std::string& model);

  const Env& env() const { return env_; }
  const ProviderSettings& settings() const { return settings_; }

 private:
  const Env env_;
  const ProviderSettings settings_;
  mutable std::mutex mu_;
  std::map<std::string, Factory> factories_;
  std::map<std::string, std::shared_ptr<Provider>> made_;
};

// Factories for the OpenAI family, usable on their own (tests, other registries).
Result<std::unique_ptr<Provider>> make_openai_provider(const Env& env, const ProviderSettings& s);
Result<std::unique_ptr<Provider>> make_mistral_provider(const Env& env, const ProviderSettings& s);
Result<std::unique_ptr<Provider>> make_openai_compat_provider(const Env& env,
                                                              const ProviderSettings& s);
// ANTHROPIC_API_KEY (required), ANTHROPIC_BASE_URL (default https://api.anthropic.com).
Result<std::unique_ptr<Provider>> make_anthropic_provider(const Env& env,
                                                          const ProviderSettings& s);
// OLLAMA_HOST (default http://127.0.0.1:11434; host:port accepted), OLLAMA_API_KEY (optional).
Result<std::unique_ptr<Provider>> make_ollama_provider(const Env& env, const ProviderSettings& s);
// CLOVASTUDIO_API_KEY (required), CLOVASTUDIO_BASE_URL (default
// https://clovastudio.stream.ntruss.com). CLOVA has no model list: list_models is kUnsupported.
Result<std::unique_ptr<Provider>> make_clova_provider(const Env& env, const ProviderSettings& s);

// Registers every provider this build has a connector for: openai, openai-compat, mistral,
// anthropic, ollama, clova.
void register_builtin_providers(ProviderRegistry& registry);

// A registry of the built-in providers configured from `env`.
std::shared_ptr<ProviderRegistry> make_provider_registry(Env env, ProviderSettings settings = {});

// Adds "openai", "mistral", "openai-compat", "ollama" and "clova" embedder factories to `into`
// ("ollama:nomic-embed-text", "clova:v2"), each making its embedders through `providers` (so
// they share the provider's concurrency limit). A provider that is not configured makes its
// factory return that error (kUnavailable naming the variable); a bare provider name with no
// model is kInvalidInput naming an example.
void register_provider_embedders(std::shared_ptr<ProviderRegistry> providers,
                                 EmbedderRegistry& into);
// The same, at start-up: a registry of the built-in providers from `env`, into
// EmbedderRegistry::global().
void register_provider_embedders(const Env& env);

}  // namespace chaja
