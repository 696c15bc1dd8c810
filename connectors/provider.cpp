#include "connectors/provider.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "connectors/anthropic_codec.h"
#include "connectors/clova_codec.h"
#include "connectors/clova_embedder.h"
#include "connectors/http_chat_model.h"
#include "connectors/ollama_codec.h"
#include "connectors/ollama_embedder.h"
#include "connectors/openai_codec.h"
#include "connectors/openai_embedder.h"

extern char** environ;  // POSIX

namespace chaja {
namespace {

using nlohmann::json;

std::string trim(std::string_view s) {
  while (!s.empty() && std::string_view(" \t\r\n").find(s.front()) != std::string_view::npos)
    s.remove_prefix(1);
  while (!s.empty() && std::string_view(" \t\r\n").find(s.back()) != std::string_view::npos)
    s.remove_suffix(1);
  return std::string(s);
}

Error missing(const std::string& provider, const std::string& variable) {
  return make_error(ErrorKind::kUnavailable,
                    "the " + provider + " provider is not configured: " + "set " + variable);
}

HttpCallOptions call_options(const std::string& provider, const std::string& key_variable,
                             const ProviderSettings& s) {
  HttpCallOptions o;
  o.provider = provider;
  o.key_variable = key_variable;
  o.timeouts = s.timeouts;
  o.retry = s.retry;
  if (s.max_concurrency > 0) o.limiter = std::make_shared<ConcurrencyLimiter>(s.max_concurrency);
  o.retryable = &OpenAiCodec::retryable_error;
  return o;
}

// Embeddings get a limiter of their own: a large indexing job must not queue a provider's chat
// answers behind it (nor answers its embeddings).
HttpCallOptions embedding_call(HttpCallOptions chat, const ProviderSettings& s) {
  chat.limiter =
      s.max_concurrency > 0 ? std::make_shared<ConcurrencyLimiter>(s.max_concurrency) : nullptr;
  return chat;
}

// One of the OpenAI family: chat over /chat/completions, models at /models, embeddings.
Result<std::unique_ptr<Provider>> make_openai_family(
    const std::string& name, OpenAiCodec::Dialect dialect, const std::string& key,
    bool key_required, const std::string& key_variable, const std::string& url,
    const std::string& url_variable, const ProviderSettings& settings) {
  if (key_required && key.empty()) return missing(name, key_variable);
  if (url.empty()) return missing(name, url_variable);
  auto base = normalise_base_url(url, url_variable);
  if (!base.ok()) return base.error();
  HttpProvider::Config c;
  c.name = name;
  auto codec = std::make_shared<OpenAiCodec>(dialect);
  c.codec = codec;
  c.base_url = *base;
  c.api_key = key;
  c.call = call_options(name, key_variable, settings);
  c.models_path = "/models";
  c.embedder = [codec, base = *base, key, call = embedding_call(c.call, settings)](
                   const std::string& model) -> Result<std::unique_ptr<Embedder>> {
    if (model.empty())
      return make_error(
          ErrorKind::kInvalidInput,
          "name the embedding model, e.g. '" + call.provider + ":" +
              (call.provider == "mistral" ? "mistral-embed" : "text-embedding-3-small") + "'");
    OpenAiEmbedder::Config ec;
    ec.model = model;
    ec.base_url = base;
    ec.api_key = key;
    ec.call = call;
    ec.codec = codec;
    return std::unique_ptr<Embedder>(std::make_unique<OpenAiEmbedder>(std::move(ec)));
  };
  return std::unique_ptr<Provider>(std::make_unique<HttpProvider>(std::move(c)));
}

}  // namespace

// ---- environment ----------------------------------------------------------------------------

Env from_process_env() {
  Env env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string env_value(const Env& env, const std::string& name, const std::string& fallback) {
  auto it = env.find(name);
  if (it == env.end()) return fallback;
  std::string v = trim(it->second);
  return v.empty() ? fallback : v;
}

Result<std::string> normalise_base_url(const std::string& url, const std::string& variable,
                                       bool append_v1) {
  const std::string u = trim(url);
  size_t scheme_end = 0;
  if (u.starts_with("http://"))
    scheme_end = 7;
  else if (u.starts_with("https://"))
    scheme_end = 8;
  else
    return make_error(ErrorKind::kUnavailable, variable + " must be an http:// or https:// URL");
  if (u.find_first_of(" \t\r\n", 0) != std::string::npos || u.size() > 2048 ||
      u.size() == scheme_end || u[scheme_end] == '/')
    return make_error(ErrorKind::kUnavailable, variable + " is not a valid URL");
  std::string out = u;
  while (out.size() > scheme_end && out.back() == '/') out.pop_back();
  if (append_v1 && out.find('/', scheme_end) == std::string::npos) out += "/v1";
  return out;
}

// ---- Provider -------------------------------------------------------------------------------

Result<std::unique_ptr<Embedder>> Provider::embedder(const std::string&) const {
  return make_error(ErrorKind::kUnsupported,
                    "the " + name() + " provider has no embedding models in this build");
}

HttpProvider::HttpProvider(Config config) : config_(std::move(config)) {}

Result<std::unique_ptr<ChatModel>> HttpProvider::chat_model(const std::string& model) const {
  if (model.empty())
    return make_error(ErrorKind::kInvalidInput,
                      "name the " + config_.name + " model, as " + config_.name + ":MODEL");
  return std::unique_ptr<ChatModel>(std::make_unique<HttpChatModel>(
      config_.codec, config_.base_url, config_.api_key, model, config_.call));
}

Result<std::unique_ptr<Embedder>> HttpProvider::embedder(const std::string& model) const {
  if (!config_.embedder) return Provider::embedder(model);
  return config_.embedder(model);
}

Result<std::vector<std::string>> HttpProvider::list_models(
    std::chrono::milliseconds timeout) const {
  if (config_.models_path.empty())
    return make_error(ErrorKind::kUnsupported, config_.name + " has no model list");
  HttpRequest http;
  http.url = join_url(config_.base_url, config_.models_path);
  http.headers.set("Accept", "application/json");
  config_.codec->add_headers(http.headers, config_.api_key);
  http.timeouts.connect = timeout;
  http.timeouts.first_byte = timeout;
  http.timeouts.idle = timeout;
  http.timeouts.total = timeout;
  http.max_body_bytes = size_t{8} << 20;
  HttpCallOptions once = config_.call;
  once.retry.max_attempts = 1;
  once.limiter = nullptr;  // a health check does not queue behind answers
  int attempts = 0;
  auto res = send_with_retries(pool_, http, once, nullptr, attempts);
  if (!res.ok()) {
    Error e = res.error();
    if (e.kind == ErrorKind::kTooLarge) e.kind = ErrorKind::kUpstream;
    e.message = config_.name + ": " + e.message;
    return scrub_key(std::move(e), config_.api_key);
  }
  if (res->status < 200 || res->status > 299) {
    Error e = config_.codec->parse_error(res->status, res->body);
    if ((res->status == 401 || res->status == 403) && !config_.call.key_variable.empty())
      e.message += " (check " + config_.call.key_variable + ")";
    return scrub_key(std::move(e), config_.api_key);
  }
  return parse_model_list(res->body, config_.name);
}

Result<std::vector<std::string>> parse_model_list(std::string_view body,
                                                  const std::string& provider) {
  const json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  const json* list = nullptr;
  if (j.is_object() && j.contains("data") && j["data"].is_array())
    list = &j["data"];
  else if (j.is_object() && j.contains("models") && j["models"].is_array())
    list = &j["models"];
  if (list == nullptr)
    return make_error(ErrorKind::kUpstream,
                      provider + ": malformed model list: " + excerpt(body, 200));
  std::vector<std::string> names;
  for (const json& m : *list) {
    if (!m.is_object()) continue;
    for (const char* key : {"id", "name", "model"}) {
      auto it = m.find(key);
      if (it != m.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
        names.push_back(excerpt(it->get_ref<const std::string&>(), 200));
        break;
      }
    }
  }
  return names;
}

// ---- the OpenAI family ----------------------------------------------------------------------

Result<std::unique_ptr<Provider>> make_openai_provider(const Env& env, const ProviderSettings& s) {
  return make_openai_family("openai", OpenAiCodec::Dialect::kOpenAi,
                            env_value(env, "OPENAI_API_KEY"), true, "OPENAI_API_KEY",
                            env_value(env, "OPENAI_BASE_URL", "https://api.openai.com/v1"),
                            "OPENAI_BASE_URL", s);
}

Result<std::unique_ptr<Provider>> make_mistral_provider(const Env& env, const ProviderSettings& s) {
  return make_openai_family("mistral", OpenAiCodec::Dialect::kMistral,
                            env_value(env, "MISTRAL_API_KEY"), true, "MISTRAL_API_KEY",
                            env_value(env, "MISTRAL_BASE_URL", "https://api.mistral.ai/v1"),
                            "MISTRAL_BASE_URL", s);
}

Result<std::unique_ptr<Provider>> make_openai_compat_provider(const Env& env,
                                                              const ProviderSettings& s) {
  return make_openai_family("openai-compat", OpenAiCodec::Dialect::kCompat,
                            env_value(env, "OPENAI_COMPAT_API_KEY"), false, "OPENAI_COMPAT_API_KEY",
                            env_value(env, "OPENAI_COMPAT_BASE_URL"), "OPENAI_COMPAT_BASE_URL", s);
}

// ---- providers whose API paths carry their own version -----------------------------------------

namespace {

// A provider root ("https://api.anthropic.com"): checked like any base URL, trailing slashes and
// a trailing `suffix` the codec's paths already carry ("/v1" for Anthropic) dropped.
Result<std::string> root_url(const std::string& url, const std::string& variable,
                             std::string_view suffix) {
  auto base = normalise_base_url(url, variable, false);
  if (!base) return base.error();
  // Only a path segment after the host is dropped ("http://api" stays as it is).
  const size_t host_end = base->find('/', base->find("://") + 3);
  if (!suffix.empty() && host_end != std::string::npos &&
      base->size() - suffix.size() >= host_end && base->ends_with(suffix))
    base->resize(base->size() - suffix.size());
  return base;
}

}  // namespace

Result<std::unique_ptr<Provider>> make_anthropic_provider(const Env& env,
                                                          const ProviderSettings& s) {
  const std::string key = env_value(env, "ANTHROPIC_API_KEY");
  if (key.empty()) return missing("anthropic", "ANTHROPIC_API_KEY");
  auto base = root_url(env_value(env, "ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
                       "ANTHROPIC_BASE_URL", "/v1");
  if (!base) return base.error();
  HttpProvider::Config c;
  c.name = "anthropic";
  c.codec = std::make_shared<AnthropicCodec>();
  c.base_url = *base;
  c.api_key = key;
  c.call = call_options("anthropic", "ANTHROPIC_API_KEY", s);
  c.call.retryable = nullptr;  // 429, 5xx and 529 are all worth a retry; x-should-retry decides
  c.models_path = "/v1/models";
  return std::unique_ptr<Provider>(std::make_unique<HttpProvider>(std::move(c)));
}

Result<std::unique_ptr<Provider>> make_ollama_provider(const Env& env, const ProviderSettings& s) {
  // OLLAMA_HOST as Ollama itself reads it; a bare host:port gets http://.
  std::string host = env_value(env, "OLLAMA_HOST", "http://127.0.0.1:11434");
  if (host.find("://") == std::string::npos) {
    // As Ollama reads it: a bare host gets http:// and, without a port, Ollama's own 11434
    // (OLLAMA_HOST=0.0.0.0 on a server means "this machine, the usual port").
    const size_t slash = host.find('/');
    const std::string authority = host.substr(0, slash);
    const size_t colon = authority.rfind(':'), bracket = authority.rfind(']');  // [::1]:port
    const bool has_port =
        colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
    if (!has_port) host.insert(slash == std::string::npos ? host.size() : slash, ":11434");
    host = "http://" + host;
  }
  auto base = root_url(host, "OLLAMA_HOST", "/api");
  if (!base) return base.error();
  HttpProvider::Config c;
  c.name = "ollama";
  c.codec = std::make_shared<OllamaCodec>();
  c.base_url = *base;
  c.api_key = env_value(env, "OLLAMA_API_KEY");  // optional: a proxy in front of Ollama
  c.call = call_options("ollama", "OLLAMA_API_KEY", s);
  c.call.retryable = nullptr;
  c.models_path = kOllamaTagsPath;
  c.embedder = [base = c.base_url, key = c.api_key, call = embedding_call(c.call, s)](
                   const std::string& model) -> Result<std::unique_ptr<Embedder>> {
    if (model.empty())
      return make_error(ErrorKind::kInvalidInput,
                        "name the Ollama embedding model, e.g. 'ollama:nomic-embed-text'");
    OllamaEmbedder::Config ec;
    ec.model = model;
    ec.base_url = base;
    ec.api_key = key;
    ec.call = call;
    return std::unique_ptr<Embedder>(std::make_unique<OllamaEmbedder>(std::move(ec)));
  };
  return std::unique_ptr<Provider>(std::make_unique<HttpProvider>(std::move(c)));
}

Result<std::unique_ptr<Provider>> make_clova_provider(const Env& env, const ProviderSettings& s) {
  const std::string key = env_value(env, "CLOVASTUDIO_API_KEY");
  if (key.empty()) return missing("clova", "CLOVASTUDIO_API_KEY");
  auto base =
      root_url(env_value(env, "CLOVASTUDIO_BASE_URL", "https://clovastudio.stream.ntruss.com"),
               "CLOVASTUDIO_BASE_URL", "");
  if (!base) return base.error();
  HttpProvider::Config c;
  c.name = "clova";
  auto codec = std::make_shared<ClovaCodec>();
  c.codec = codec;
  c.base_url = *base;
  c.api_key = key;
  c.call = call_options("clova", "CLOVASTUDIO_API_KEY", s);
  c.call.retryable = nullptr;
  c.embedder = [codec, base = c.base_url, key, call = embedding_call(c.call, s)](
                   const std::string& model) -> Result<std::unique_ptr<Embedder>> {
    if (model.empty())
      return make_error(ErrorKind::kInvalidInput,
                        "name the CLOVA Studio embedding model, e.g. 'clova:v2' (embedding v2)");
    ClovaEmbedder::Config ec;
    ec.model = model;
    ec.base_url = base;
    ec.api_key = key;
    ec.call = call;
    ec.codec = codec;
    return std::unique_ptr<Embedder>(std::make_unique<ClovaEmbedder>(std::move(ec)));
  };
  // CLOVA Studio has no model-list endpoint: `chaja models` reports it configured, unchecked.
  return std::unique_ptr<Provider>(std::make_unique<HttpProvider>(std::move(c)));
}

// ---- registry -------------------------------------------------------------------------------

ProviderRegistry::ProviderRegistry(Env env, ProviderSettings settings)
    : env_(std::move(env)), settings_(settings) {}

void ProviderRegistry::add(const std::string& name, Factory factory) {
  std::lock_guard<std::mutex> lock(mu_);
  factories_[name] = std::move(factory);
  made_.erase(name);
}

std::vector<std::string> ProviderRegistry::names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

bool ProviderRegistry::has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return factories_.count(name) != 0;
}

Result<std::shared_ptr<Provider>> ProviderRegistry::provider(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = made_.find(name); it != made_.end()) return it->second;
  auto f = factories_.find(name);
  if (f == factories_.end()) {
    std::string known;
    for (const auto& [n, fac] : factories_) known += (known.empty() ? "" : ", ") + n;
    return make_error(ErrorKind::kInvalidInput,
                      "unknown model provider '" + name + "' (this build has: " + known + ")");
  }
  // Made under the lock: factories only read the environment, they make no calls.
  auto made = f->second(env_, settings_);
  if (!made.ok()) return made.error();
  std::shared_ptr<Provider> p = std::move(made.value());
  made_[name] = p;
  return p;
}

Result<std::unique_ptr<ChatModel>> ProviderRegistry::chat_model(const ModelName& name) {
  auto p = provider(name.provider);
  if (!p.ok()) return p.error();
  return (*p)->chat_model(name.model);
}

Result<std::unique_ptr<Embedder>> ProviderRegistry::embedder(const std::string& provider_name,
                                                             const std::string& model) {
  auto p = provider(provider_name);
  if (!p.ok()) return p.error();
  return (*p)->embedder(model);
}

void register_builtin_providers(ProviderRegistry& registry) {
  registry.add("openai", &make_openai_provider);
  registry.add("mistral", &make_mistral_provider);
  registry.add("openai-compat", &make_openai_compat_provider);
  registry.add("anthropic", &make_anthropic_provider);
  registry.add("ollama", &make_ollama_provider);
  registry.add("clova", &make_clova_provider);
}

std::shared_ptr<ProviderRegistry> make_provider_registry(Env env, ProviderSettings settings) {
  auto registry = std::make_shared<ProviderRegistry>(std::move(env), settings);
  register_builtin_providers(*registry);
  return registry;
}

void register_provider_embedders(std::shared_ptr<ProviderRegistry> providers,
                                 EmbedderRegistry& into) {
  for (const char* name : {"openai", "mistral", "openai-compat", "ollama", "clova"}) {
    const std::string provider = name;
    into.add(provider, [providers, provider](const std::string& model) {
      return providers->embedder(provider, model);
    });
  }
}

void register_provider_embedders(const Env& env) {
  register_provider_embedders(make_provider_registry(env), EmbedderRegistry::global());
}

}  // namespace chaja
