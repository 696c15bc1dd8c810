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

TEST_CASE("config: the web section; search keys become the CONTRACT's variables", "[config][web]") {
  test::TempDir dir;
  dir.write("secrets/brave", "  brave-secret-from-file \r\n");
  const auto path = dir.write("chaja.json", R"({
  "web": {
    "searxng": {"url": "http://127.0.0.1:8888"},
    "brave": {"api_key_file": "secrets/brave", "base_url": "http://127.0.0.1:9/brave"},
    "tavily": {"api_key": "tvly-file"},
    "order": "searxng,brave",
    "results": 5, "pages": 3,
    "search_timeout_ms": 2000, "page_timeout_ms": 800, "total_timeout_ms": 3000,
    "max_page_bytes": 65536, "respect_robots": false, "cache": false, "cache_ttl_s": 60,
    "allow": "10.0.0.0/8, intranet.example"
  }
})");
  auto config = load_config(path);
  REQUIRE(config.ok());
  const Env& env = config->provider_env;
  CHECK(env.at("SEARXNG_URL") == "http://127.0.0.1:8888");
  CHECK(env.at("BRAVE_API_KEY") == "brave-secret-from-file");  // trimmed at both ends
  CHECK(env.at("BRAVE_BASE_URL") == "http://127.0.0.1:9/brave");
  CHECK(env.at("TAVILY_API_KEY") == "tvly-file");
  const WebSettings& w = config->web;
  CHECK(w.order == "searxng,brave");
  CHECK(w.results == 5);
  CHECK(w.max_pages == 3);
  CHECK(w.search.timeouts.total == std::chrono::milliseconds(2000));
  CHECK(w.fetch.page_timeout == std::chrono::milliseconds(800));
  CHECK(w.fetch.total_timeout == std::chrono::milliseconds(3000));
  CHECK(w.fetch.max_bytes == 65536);
  CHECK_FALSE(w.fetch.respect_robots);
  CHECK_FALSE(w.cache);
  CHECK(w.cache_options.ttl == std::chrono::seconds(60));
  CHECK(w.fetch.allow.allows_address("10.1.2.3"));
  CHECK_FALSE(w.fetch.allow.allows_address("192.168.1.1"));
  CHECK(w.fetch.allow.allows_host("intranet.example"));
  // The environment still wins over the file.
  const Env merged = merged_env(*config, Env{{"SEARXNG_URL", "http://searx.internal"}});
  CHECK(merged.at("SEARXNG_URL") == "http://searx.internal");
  CHECK(merged.at("BRAVE_API_KEY") == "brave-secret-from-file");

  // Without a "web" section the defaults stand.
  auto empty = parse_config("{}", "c.json");
  REQUIRE(empty.ok());
  const WebSettings defaults;
  CHECK(empty->web.results == defaults.results);
  CHECK(empty->web.fetch.page_timeout == defaults.fetch.page_timeout);
  CHECK(empty->web.cache);
  CHECK(empty->provider_env.count("SEARXNG_URL") == 0);
}

TEST_CASE("config: web mistakes name the file, the line and the key", "[config][web]") {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"{\n  \"web\": {\n    \"page_timeout_ms\": 50\n  }\n}",
       "line 3: \"page_timeout_ms\" must be a whole number from 100 to 600000"},
      {"{\n  \"web\": {\n    \"total_timeout_ms\": 600001\n  }\n}",
       "line 3: \"total_timeout_ms\" must be a whole number from 100 to 600000"},
      {"{\n  \"web\": {\n    \"search_timeout_ms\": \"slow\"\n  }\n}",
       "line 3: \"search_timeout_ms\" must be"},
      {"{\n  \"web\": {\n\n    \"results\": 21\n  }\n}",
       "line 4: \"results\" must be a whole number from 1 to 20"},
      {"{\n  \"web\": {\"pages\": -1}\n}", "line 2: \"pages\" must be a whole number from 0 to 20"},
      {"{\n  \"web\": {\n    \"max_page_bytes\": 10\n  }\n}", "line 3: \"max_page_bytes\" must be"},
      {"{\n  \"web\": {\n    \"cache_ttl_s\": 0\n  }\n}", "line 3: \"cache_ttl_s\" must be"},
      {"{\n  \"web\": {\n    \"results\": 2.5\n  }\n}", "line 3: \"results\" must be"},
      {"{\n  \"web\": {\n    \"cache\": \"yes\"\n  }\n}",
       "line 3: \"cache\" must be true or false"},
      {"{\n  \"web\": {\n    \"respect_robots\": 1\n  }\n}",
       "line 3: \"respect_robots\" must be true or false"},
      {"{\n  \"web\": {\n    \"order\": [\"searxng\"]\n  }\n}", "line 3: \"order\" must be"},
      {"{\n  \"web\": {\n    \"colour\": 1\n  }\n}", "line 3: unknown key \"colour\" in \"web\""},
      {"{\n  \"web\": {\n    \"bing\": {\"api_key\": \"k\"}\n  }\n}",
       "line 3: unknown key \"bing\" in \"web\""},
      {"{\n  \"web\": {\n    \"searxng\": {\"api_key\": \"k\"}\n  }\n}",
       "line 3: unknown key \"api_key\" for the searxng provider"},
      {"{\n  \"web\": {\n    \"searxng\": {\"url\": \"\"}\n  }\n}",
       "line 3: searxng: \"url\" must be a non-empty string"},
      {"{\n  \"web\": {\n    \"brave\": {\"api_key\": \"a\", \"api_key_file\": \"b\"}\n  }\n}",
       "not both"},
      {"{\n  \"web\": {\n    \"allow\": \"10.0.0.0/33\"\n  }\n}", "line 3: \"allow\": "},
      {"{\n  \"web\": {\n    \"allow\": \"10.0.0.0/x\"\n  }\n}", "line 3: \"allow\": "},
      {"{\n  \"web\": {\n    \"allow\": [\"127.0.0.1\"]\n  }\n}", "line 3: \"allow\" must be"},
      {"{\n  \"web\": [1]\n}", "line 2: \"web\" must be an object"},
      // A key that appears in two sections is reported in the section it is wrong in.
      {"{\n  \"llm\": {\"total_timeout_ms\": 1000},\n  \"web\": {\n    \"total_timeout_ms\": 1\n  "
       "}\n}",
       "line 4: \"total_timeout_ms\" must be a whole number from 100 to 600000"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto r = parse_config(c.text, "/etc/chaja.json");
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().kind == ErrorKind::kInvalidInput);
    CHECK(has(r.error().message, "/etc/chaja.json"));
    CHECK(has(r.error().message, c.expect));
  }
  // A search key is never echoed back.
  auto secret =
      parse_config("{\"web\": {\"brave\": {\"api_key\": \"bsk-secret\", \"x\": 1}}}", "c.json");
  REQUIRE_FALSE(secret.ok());
  CHECK_FALSE(has(secret.error().message, "bsk-secret"));
}

TEST_CASE("config: the server section's limits, checked and named by line", "[config]") {
  auto ok = parse_config(R"({"server": {"max_streams_per_key": 2, "max_body_bytes": 65536,
    "drain_seconds": 5, "cors_origins": ["https://Intranet.Example.com:443/"]}})",
                         "c.json");
  REQUIRE(ok);
  CHECK(ok->limits.max_streams_per_key == 2);
  CHECK(ok->limits.max_body_bytes == 65536);
  CHECK(ok->limits.drain_seconds == 5);
  CHECK(ok->limits.threads == 0);  // not given: the server's default
  REQUIRE(ok->cors_origins.size() == 1);
  CHECK(ok->cors_origins[0] == "https://intranet.example.com");

  auto unknown = parse_config("{\n\"server\": {\n  \"max_stream\": 2}}", "c.json");
  REQUIRE(!unknown);
  CHECK(unknown.error().message.find("line 3") != std::string::npos);
  CHECK(unknown.error().message.find("max_streams_per_key") != std::string::npos);
  auto range = parse_config(R"({"server": {"max_body_bytes": 10}})", "c.json");
  REQUIRE(!range);
  CHECK(range.error().message.find("max_body_bytes") != std::string::npos);
}

// Found by tests/fuzz/fuzz_config: nlohmann throws out_of_range (not parse_error) for a number
// beyond double, and that escaped parse_config, so `chaja serve` and `chaja config check` died
// on such a file instead of naming it.
TEST_CASE("config: a number beyond double is an error naming the file, not an exception",
          "[config][fuzz]") {
  for (const char* text : {"1e600t", "{\"llm\": {\"max_attempts\": 1e600}}", "[-1e400]"}) {
    INFO(text);
    auto r = parse_config(text, "/etc/chaja.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidInput);
    CHECK(r.error().message == "/etc/chaja.json: not valid JSON: a number is out of range");
  }
}
