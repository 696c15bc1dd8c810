// Providers from environment maps: the CONTRACT's variables, missing-key errors, base URLs, the
// registry (cached providers, fakes), model lists, and provider embedders in an EmbedderRegistry.
#include "connectors/provider.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/connectors/replay_server.h"

using namespace chaja;
using namespace chaja::test;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

ProviderSettings fast_settings() {
  ProviderSettings s;
  s.timeouts.connect = 2000ms;
  s.timeouts.first_byte = 3000ms;
  s.timeouts.idle = 3000ms;
  s.timeouts.total = 8000ms;
  s.retry.max_attempts = 2;
  s.retry.base_delay = 2ms;
  s.retry.max_delay = 5ms;
  return s;
}

ChatRequest hello() {
  ChatRequest r;
  r.messages = {{ChatRole::kUser, "hello"}};
  return r;
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

class FakeProvider : public Provider {
 public:
  std::string name() const override { return "fake"; }
  Result<std::unique_ptr<ChatModel>> chat_model(const std::string&) const override {
    return make_error(ErrorKind::kUnsupported, "fake");
  }
  Result<std::vector<std::string>> list_models(std::chrono::milliseconds) const override {
    return std::vector<std::string>{"one"};
  }
};

}  // namespace

TEST_CASE("provider env: values trimmed, empty is unset, the process environment", "[provider]") {
  const Env env = {{"A", "  x \n"}, {"EMPTY", "  "}};
  CHECK(env_value(env, "A") == "x");
  CHECK(env_value(env, "EMPTY", "fb") == "fb");
  CHECK(env_value(env, "MISSING", "fb") == "fb");
  CHECK(env_value(env, "MISSING").empty());
  ::setenv("CHAJA_PROVIDER_TEST_VAR", "v=1", 1);
  const Env process = from_process_env();
  CHECK(process.at("CHAJA_PROVIDER_TEST_VAR") == "v=1");
  ::unsetenv("CHAJA_PROVIDER_TEST_VAR");
}

TEST_CASE("provider base URLs", "[provider]") {
  CHECK(*normalise_base_url("https://api.openai.com/v1", "X") == "https://api.openai.com/v1");
  CHECK(*normalise_base_url("https://api.openai.com/v1/", "X") == "https://api.openai.com/v1");
  CHECK(*normalise_base_url("http://127.0.0.1:8080", "X") == "http://127.0.0.1:8080/v1");
  CHECK(*normalise_base_url("http://127.0.0.1:8080/", "X") == "http://127.0.0.1:8080/v1");
  CHECK(*normalise_base_url("http://gw.local/openai/v1", "X") == "http://gw.local/openai/v1");
  for (const char* bad : {"", "api.openai.com", "ftp://x", "http://", "http:///v1", "http://a b"}) {
    auto r = normalise_base_url(bad, "OPENAI_BASE_URL");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kUnavailable);
    CHECK(has(r.error().message, "OPENAI_BASE_URL"));
  }
}

TEST_CASE("provider: a missing key is kUnavailable naming the variable", "[provider]") {
  auto registry = make_provider_registry(Env{}, fast_settings());
  CHECK(registry->names() == std::vector<std::string>{"anthropic", "clova", "mistral", "ollama",
                                                      "openai", "openai-compat"});
  struct Case {
    const char* provider;
    const char* variable;
  };
  for (const Case& c :
       {Case{"openai", "OPENAI_API_KEY"}, Case{"mistral", "MISTRAL_API_KEY"},
        Case{"openai-compat", "OPENAI_COMPAT_BASE_URL"}, Case{"anthropic", "ANTHROPIC_API_KEY"},
        Case{"clova", "CLOVASTUDIO_API_KEY"}}) {
    auto m = registry->chat_model(ModelName{c.provider, "some-model"});
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().kind == ErrorKind::kUnavailable);
    CHECK(has(m.error().message, c.variable));
  }
  auto bad_url = make_provider_registry(
      Env{{"OPENAI_API_KEY", "sk-test"}, {"OPENAI_BASE_URL", "api.example.com"}});
  auto m = bad_url->chat_model(ModelName{"openai", "gpt-4o-mini"});
  REQUIRE_FALSE(m.ok());
  CHECK(has(m.error().message, "OPENAI_BASE_URL"));
  // Ollama needs nothing: it defaults to the local server. A bare host:port is accepted.
  CHECK(registry->chat_model(ModelName{"ollama", "llama3.1"}).ok());
  auto unknown = registry->chat_model(ModelName{"nope", "x"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("provider: each OpenAI-family provider talks to its base URL with its key",
          "[provider][openai][mistral]") {
  ReplayServer server;
  server.on("/v1/chat/completions", fixture_reply("openai/chat_stream_finish_length.sse"));
  const std::string base = server.base_url();
  auto registry = make_provider_registry(Env{{"OPENAI_API_KEY", "sk-openai"},
                                             {"OPENAI_BASE_URL", base + "/v1"},
                                             {"MISTRAL_API_KEY", "mistral-key"},
                                             {"MISTRAL_BASE_URL", base + "/v1/"},
                                             {"OPENAI_COMPAT_BASE_URL", base}},  // "/v1" appended
                                         fast_settings());
  struct Case {
    const char* provider;
    const char* auth;  // "" for none
    bool stream_options;
    const char* max_field;
  };
  for (const Case& c : {Case{"openai", "Bearer sk-openai", true, "max_completion_tokens"},
                        Case{"mistral", "Bearer mistral-key", false, "max_tokens"},
                        Case{"openai-compat", "", false, "max_tokens"}}) {
    INFO(c.provider);
    server.clear();
    server.on("/v1/chat/completions", fixture_reply("openai/chat_stream_finish_length.sse"));
    auto model = registry->chat_model(ModelName{c.provider, "m-1"});
    REQUIRE(model.ok());
    CHECK((*model)->name() == std::string(c.provider) + ":m-1");
    auto res = (*model)->stream(hello(), nullptr, nullptr);
    REQUIRE(res.ok());
    CHECK(res->text == "{\"");
    CHECK(res->finish_reason == "length");
    const RecordedRequest r = server.requests().at(0);
    CHECK(r.header("Authorization") == c.auth);
    CHECK(r.has_header("Authorization") == (c.auth[0] != '\0'));
    const json body = json::parse(r.body);
    CHECK(body["model"] == "m-1");
    CHECK(body.contains("stream_options") == c.stream_options);
    CHECK(body.contains(c.max_field));
  }
  // One provider object per name, made once.
  CHECK(registry->provider("openai")->get() == registry->provider("openai")->get());
}

TEST_CASE("provider: the concurrency limit is shared by the provider's models", "[provider]") {
  ReplayServer server;
  server.on(
      "/v1/chat/completions",
      fixture_reply("openai/chat_stream_finish_length.sse").in_chunks({400}).with_delay(40ms));
  ProviderSettings s = fast_settings();
  s.max_concurrency = 1;
  auto registry = make_provider_registry(
      Env{{"OPENAI_API_KEY", "k"}, {"OPENAI_BASE_URL", server.base_url() + "/v1"}}, s);
  auto a = registry->chat_model(ModelName{"openai", "a"});
  auto b = registry->chat_model(ModelName{"openai", "b"});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::atomic<int> ok{0};
  const auto start = Clock::now();
  std::thread ta([&] { ok += (*a)->stream(hello(), nullptr, nullptr).ok() ? 1 : 0; });
  std::thread tb([&] { ok += (*b)->stream(hello(), nullptr, nullptr).ok() ? 1 : 0; });
  ta.join();
  tb.join();
  CHECK(ok == 2);
  // 1124 bytes in 3 pieces: 2 gaps of 40 ms per stream, one stream at a time.
  CHECK(Clock::now() - start >= 160ms);
}

TEST_CASE("provider: list_models is one bounded call", "[provider][openai]") {
  ReplayServer server;
  auto registry = make_provider_registry(Env{{"OPENAI_API_KEY", "sk-list"},
                                             {"OPENAI_BASE_URL", server.base_url() + "/v1"},
                                             {"OPENAI_COMPAT_BASE_URL", server.base_url()}},
                                         fast_settings());
  auto openai = registry->provider("openai");
  REQUIRE(openai.ok());

  server.on("/v1/models", json_reply(200, R"({"object":"list","data":[)"
                                          R"({"id":"gpt-4o-mini","object":"model"},)"
                                          R"({"id":"text-embedding-3-small","object":"model"}]})"));
  auto names = (*openai)->list_models(1000ms);
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"gpt-4o-mini", "text-embedding-3-small"});
  CHECK(server.requests().at(0).method == "GET");
  CHECK(server.requests().at(0).header("Authorization") == "Bearer sk-list");

  server.on("/v1/models", fixture_reply("openai/error_401_invalid_api_key.json", 401));
  auto refused = (*openai)->list_models(1000ms);
  REQUIRE_FALSE(refused.ok());
  CHECK(has(refused.error().message, "OPENAI_API_KEY"));

  server.on("/v1/models", json_reply(200, "{}").head_delay(1500ms));
  const auto start = Clock::now();
  auto slow = (*openai)->list_models(150ms);
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error().kind == ErrorKind::kTimeout);
  CHECK(Clock::now() - start < 1000ms);

  // llama.cpp lists models under "data" too (newer builds add "models"); Ollama uses "models".
  server.on("/v1/models",
            json_reply(200, R"({"models":[{"name":"q.gguf","model":"q.gguf"}],"object":"list",)"
                            R"("data":[{"id":"q.gguf","object":"model","owned_by":"llamacpp"}]})"));
  auto compat = registry->provider("openai-compat");
  REQUIRE(compat.ok());
  auto local = (*compat)->list_models(1000ms);
  REQUIRE(local.ok());
  CHECK(*local == std::vector<std::string>{"q.gguf"});
  auto ollama = parse_model_list(R"({"models":[{"name":"llama3.1:latest"},{"model":"x"}]})", "o");
  REQUIRE(ollama.ok());
  CHECK(*ollama == std::vector<std::string>{"llama3.1:latest", "x"});
  CHECK_FALSE(parse_model_list("[]", "o").ok());
}

TEST_CASE("provider: a fake provider in the registry; embedders it lacks are kUnsupported",
          "[provider]") {
  ProviderRegistry registry(Env{});
  registry.add("fake",
               [](const Env&, const ProviderSettings&) -> Result<std::unique_ptr<Provider>> {
                 return std::unique_ptr<Provider>(std::make_unique<FakeProvider>());
               });
  CHECK(registry.has("fake"));
  auto p = registry.provider("fake");
  REQUIRE(p.ok());
  CHECK(*(*p)->list_models(10ms) == std::vector<std::string>{"one"});
  auto e = registry.embedder("fake", "m");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::kUnsupported);
}

TEST_CASE("provider embedders register into an EmbedderRegistry", "[provider][embed]") {
  ReplayServer server;
  server.on("/v1/embeddings", fixture_reply("openai/embeddings_response.json"));
  auto providers = make_provider_registry(
      Env{{"OPENAI_API_KEY", "sk-e"}, {"OPENAI_BASE_URL", server.base_url() + "/v1"}},
      fast_settings());
  EmbedderRegistry embedders;
  register_provider_embedders(providers, embedders);
  CHECK(embedders.providers() ==
        std::vector<std::string>{"clova", "mistral", "ollama", "openai", "openai-compat"});

  auto e = embedders.create("openai:text-embedding-3-small");
  REQUIRE(e.ok());
  CHECK((*e)->name() == "openai:text-embedding-3-small");
  CHECK((*e)->dimension() == 1536);
  auto probe = embedders.create("openai:my-local-embedder");
  REQUIRE(probe.ok());
  CHECK((*probe)->dimension() == 8);  // learnt from the (trimmed) fixture response
  auto v = (*probe)->embed({"a"}, EmbedKind::kDocument);
  REQUIRE(v.ok());
  CHECK(v->size() == 8);

  auto unconfigured = embedders.create("mistral:mistral-embed");
  REQUIRE_FALSE(unconfigured.ok());
  CHECK(unconfigured.error().kind == ErrorKind::kUnavailable);
  CHECK(has(unconfigured.error().message, "MISTRAL_API_KEY"));
  auto nameless = embedders.create("openai");
  REQUIRE_FALSE(nameless.ok());
  CHECK(nameless.error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("provider: OLLAMA_HOST is read as Ollama reads it", "[provider][ollama]") {
  struct Case {
    const char* host;
    const char* url;
  };
  for (const Case& c :
       {Case{"0.0.0.0", "http://0.0.0.0:11434"}, Case{"127.0.0.1:8000", "http://127.0.0.1:8000"},
        Case{"gpu-box", "http://gpu-box:11434"}, Case{"[::1]", "http://[::1]:11434"},
        Case{"http://gpu-box:11434/api/", "http://gpu-box:11434"},
        Case{"http://api", "http://api"}}) {
    INFO(c.host);
    auto p = make_ollama_provider(Env{{"OLLAMA_HOST", c.host}}, ProviderSettings{});
    REQUIRE(p.ok());
    auto* http = dynamic_cast<HttpProvider*>(p->get());
    REQUIRE(http != nullptr);
    CHECK(http->config().base_url == c.url);
  }
}
