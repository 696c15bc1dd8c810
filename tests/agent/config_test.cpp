#include "agent/config.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "index/test_util.h"

using namespace chaja;

namespace {

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("config: providers become the CONTRACT's variables; the environment wins", "[config]") {
  test::TempDir dir;
  dir.write("secrets/clova", "clova-secret-from-file\n");
  const auto path = dir.write("chaja.json", R"({
  "default_model": "clova:HCX-005,extractive",
  "providers": {
    "openai": {"api_key": "sk-file", "base_url": "http://127.0.0.1:9/v1"},
    "ollama": {"host": "http://gpu-box:11434"},
    "clova": {"api_key_file": "secrets/clova"}
  },
  "llm": {"idle_timeout_ms": 1500, "max_attempts": 2, "max_concurrency": 3}
})");
  auto config = load_config(path);
  REQUIRE(config.ok());
  CHECK(config->default_model == "clova:HCX-005,extractive");
  CHECK(config->provider_env.at("OPENAI_API_KEY") == "sk-file");
  CHECK(config->provider_env.at("OPENAI_BASE_URL") == "http://127.0.0.1:9/v1");
  CHECK(config->provider_env.at("OLLAMA_HOST") == "http://gpu-box:11434");
  CHECK(config->provider_env.at("CLOVASTUDIO_API_KEY") == "clova-secret-from-file");
  CHECK(config->settings.timeouts.idle == std::chrono::milliseconds(1500));
  CHECK(config->settings.retry.max_attempts == 2);
  CHECK(config->settings.max_concurrency == 3);
  const Env env = merged_env(*config, Env{{"OPENAI_API_KEY", "sk-env"}, {"OLLAMA_HOST", ""}});
  CHECK(env.at("OPENAI_API_KEY") == "sk-env");             // the environment overrides
  CHECK(env.at("OLLAMA_HOST") == "http://gpu-box:11434");  // an empty variable does not
  // The registry made from it sees the file's provider settings.
  auto registry = make_provider_registry(env, config->settings);
  CHECK(registry->chat_model(ModelName{"clova", "HCX-005"}).ok());
}

TEST_CASE("config: every mistake names the file, the line and the key", "[config]") {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"{\n  \"providers\": {\n    \"openai\": {\"api_ky\": \"x\"}\n  }\n}",
       "line 3: unknown key \"api_ky\""},
      {"{\n  \"providers\": {\"nope\": {}}\n}", "line 2: unknown provider \"nope\""},
      {"{\n  \"llm\": {\n    \"max_attempts\": 99\n  }\n}", "line 3: \"max_attempts\" must be"},
      {"{\n  \"llm\": {\"idle_timeout_ms\": \"fast\"}\n}", "\"idle_timeout_ms\" must be"},
      {"{\n  \"providers\": {\"openai\": {\"api_key\": \"a\", \"api_key_file\": \"b\"}}\n}",
       "not both"},
      {"{\n  \"providers\": {\"openai\": {\"api_key\": \"\"}}\n}", "must be a non-empty string"},
      {"{\n  \"providers\": {\n    \"openai\": {\"api_key\": \"sk-x\",}\n  }\n}",
       "line 3: not valid JSON"},
      {"[1, 2]", "top level must be a JSON object"},
      {"{\"colour\": 1}", "unknown key \"colour\""},
      {"{\"providers\": {\"clova\": {\"api_key_file\": \"/nonexistent/secret\"}}}",
       "cannot read the api_key_file"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto r = parse_config(c.text, "/etc/chaja.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidInput);
    CHECK(has(r.error().message, "/etc/chaja.json"));
    CHECK(has(r.error().message, c.expect));
  }
  // A secret is never echoed back, even in a broken file.
  auto secret = parse_config("{\"providers\": {\"openai\": {\"api_key\": 42}}}", "c.json");
  REQUIRE_FALSE(secret.ok());
  CHECK_FALSE(
      has(parse_config("{\"providers\": {\"openai\": {\"api_key\": \"sk-secret\", \"x\": 1}}}",
                       "c.json")
              .error()
              .message,
          "sk-secret"));
  // Hostile input: too big, not UTF-8, missing file.
  CHECK(parse_config(std::string(2 << 20, ' '), "big.json").error().kind ==
        ErrorKind::kInvalidInput);
  CHECK_FALSE(parse_config("{\"default_model\": \"\xff\"}", "bad.json").ok());
  CHECK_FALSE(load_config("/nonexistent/chaja.json").ok());
}
