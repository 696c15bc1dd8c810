#include "connectors/model_name.h"

#include <catch2/catch.hpp>

using namespace chaja;

TEST_CASE("model names parse as provider:model", "[models]") {
  auto e = parse_model_name("extractive");
  REQUIRE(e.ok());
  CHECK(e->provider == "extractive");
  CHECK(e->full() == "extractive");

  auto bad = parse_model_name("nope:x");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidInput);
  CHECK(bad.error().message.find("unknown model provider 'nope'") != std::string::npos);

  CHECK(parse_model_name("").error().kind == ErrorKind::kInvalidInput);
  CHECK(parse_model_name("extractive:big").error().kind == ErrorKind::kInvalidInput);
  CHECK(parse_model_name("openai").error().kind == ErrorKind::kInvalidInput);  // no model named
  auto openai = parse_model_name("openai:gpt-4o-mini");
  REQUIRE(openai.ok());
  CHECK(openai->provider == "openai");
  CHECK(openai->model == "gpt-4o-mini");
  CHECK(parse_model_name("openai-compat:llama-3.1-8b:q4")->model == "llama-3.1-8b:q4");
}

TEST_CASE("every contract provider is known", "[models]") {
  std::vector<std::string> names;
  for (const auto& p : known_providers()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"extractive", "openai", "anthropic", "mistral", "ollama",
                                          "openai-compat", "clova"});
}
