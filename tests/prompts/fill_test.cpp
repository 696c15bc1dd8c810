#include "prompts/prompts.h"

#include <catch2/catch.hpp>

using namespace chaja;

TEST_CASE("templates are filled in one pass", "[prompts]") {
  CHECK(prompts::fill("Answer in {language}.\n{sources}",
                      {{"{language}", "Korean"}, {"{sources}", "[1] a"}}) ==
        "Answer in Korean.\n[1] a");
  // A value is not searched again: a source quoting a placeholder stays as written.
  CHECK(prompts::fill("{sources} in {language}",
                      {{"{sources}", "text with {language}"}, {"{language}", "English"}}) ==
        "text with {language} in English");
  // Placeholders not given, and lone braces, stay.
  CHECK(prompts::fill("{a} {b} {", {{"{a}", "x"}}) == "x {b} {");
  CHECK(prompts::fill("", {{"{a}", "x"}}).empty());
  // Every template the agent fills is embedded.
  for (const char* name : {"answer_system.txt", "answer_system.ko.txt", "rewrite_query.txt",
                           "related_questions.txt", "plan_search.txt", "bridge_search.txt"})
    CHECK_FALSE(prompts::find(name).empty());
}
