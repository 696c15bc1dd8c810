// `chaja config check` as a user runs it: exit codes, the line of an error, and never a secret.
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

using namespace chaja::test;

namespace {

constexpr const char* kFileSecret = "sk-PLANTED-in-file-4417";
constexpr const char* kKeyFileSecret = "PLANTED-in-key-file-9035";
constexpr const char* kEnvSecret = "PLANTED-in-env-2260";

}  // namespace

TEST_CASE("cli: config check on a good file shows sources, never secrets", "[server][config]") {
  TempDir dir;
  std::ofstream(dir / "clova.key") << kKeyFileSecret << "\n";
  const std::string config = dir / "chaja.json";
  std::ofstream(config) << R"({
  "default_model": "clova:HCX-005,openai:gpt-4o-mini,extractive",
  "providers": {
    "openai": {"api_key": ")"
                        << kFileSecret << R"(", "base_url": "https://llm.example.com/v1"},
    "clova": {"api_key_file": "clova.key"}
  },
  "web": {"searxng": {"url": "http://127.0.0.1:8888"}},
  "server": {"cors_origins": ["https://intranet.example.com"]}
}
)";
  const Run r = run(std::string("BRAVE_API_KEY=") + kEnvSecret, "config check --config " + config);
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(has(r.out, "config ok: " + config));
  CHECK(has(r.out, "clova:HCX-005,openai:gpt-4o-mini,extractive"));
  CHECK(has(r.out, "openai: api_key set, base_url https://llm.example.com/v1"));
  CHECK(has(r.out, "clova: api_key from file"));
  CHECK(has(r.out, "searxng: url http://127.0.0.1:8888"));
  CHECK(has(r.out, "brave: api_key from env (BRAVE_API_KEY)"));
  CHECK(has(r.out, "https://intranet.example.com"));
  for (const char* secret : {kFileSecret, kKeyFileSecret, kEnvSecret}) {
    CHECK_FALSE(has(r.out, secret));
    CHECK_FALSE(has(r.err, secret));
  }

  // The environment overrides the file, and the summary says so.
  const Run env = run(std::string("OPENAI_API_KEY=") + kEnvSecret +
                          " CHAJA_CORS_ORIGINS=https://portal.example.com CHAJA_CONFIG=" + config,
                      "config check");
  INFO(describe(env));
  REQUIRE(env.exit_code == 0);
  CHECK(has(env.out, "openai: api_key from env (OPENAI_API_KEY)"));
  CHECK(has(env.out, "https://portal.example.com (from env CHAJA_CORS_ORIGINS)"));
  CHECK_FALSE(has(env.out + env.err, kEnvSecret));
  CHECK_FALSE(has(env.out + env.err, kFileSecret));
}

TEST_CASE("cli: config check names the line of an error; exit 2", "[server][config]") {
  TempDir dir;
  const std::string config = dir / "bad.json";
  // Line 7 holds a value of the wrong type.
  std::ofstream(config) << R"({
  "default_model": "extractive",
  "providers": {
    "openai": {"api_key": "sk-PLANTED-bad-1234"}
  },
  "llm": {
    "max_attempts": 99
  }
}
)";
  const Run r = run("", "config check --config " + config);
  INFO(describe(r));
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "line 7"));
  CHECK(has(r.err, "max_attempts"));
  CHECK_FALSE(has(r.out + r.err, "sk-PLANTED-bad-1234"));
  CHECK_FALSE(has(r.out, "config ok"));

  // A default model with an unknown provider, on line 2.
  const std::string model = dir / "model.json";
  std::ofstream(model) << "{\n  \"default_model\": \"nosuch:model\"\n}\n";
  const Run m = run("", "config check --config " + model);
  INFO(describe(m));
  CHECK(m.exit_code == 2);
  CHECK(has(m.err, "line 2"));

  // An api_key_file that is empty.
  std::ofstream(dir / "empty.key") << "\n";
  const std::string empty = dir / "empty.json";
  std::ofstream(empty) << R"({"providers": {"mistral": {"api_key_file": "empty.key"}}})";
  const Run e = run("", "config check --config " + empty);
  INFO(describe(e));
  CHECK(e.exit_code == 2);
  CHECK(has(e.err, "empty"));
}

TEST_CASE("cli: config check on a missing file exits 1; without a file 2", "[server][config]") {
  TempDir dir;
  const Run r = run("", "config check --config " + (dir / "missing.json"));
  INFO(describe(r));
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "missing.json"));
  const Run none = run("", "config check");
  CHECK(none.exit_code == 2);
}
