#include "agent/followup.h"

#include <catch2/catch.hpp>

using namespace chaja;

namespace {

std::vector<HistoryTurn> after(std::string question, std::string answer = "...") {
  return {{std::move(question), std::move(answer)}};
}

}  // namespace

TEST_CASE("question topics, Korean and English", "[followup]") {
  CHECK(question_topic("한빛반도체의 대표이사는 누구인가요?") == "한빛반도체");
  CHECK(question_topic("제12회 달빛포구 축제의 방문객은 몇 명이었나요?") == "제12회 달빛포구 축제");
  CHECK(question_topic("When was the Greywick Point lighthouse first lit?") == "Greywick Point");
  CHECK(question_topic("Who founded the Bank of Korea?") == "Bank of Korea");
  CHECK(question_topic("what is it?").empty());
}

TEST_CASE("follow-ups are made standalone by rule", "[followup]") {
  const auto hanbit = after("한빛반도체의 대표이사는 누구인가요?", "박서연입니다 [1].");
  // The example: "그 회사" resolves to the company asked about.
  const std::string q = rule_standalone_query("그 회사의 기업 가치는?", hanbit);
  CHECK(q == "한빛반도체 회사의 기업 가치는?");
  CHECK(rule_standalone_query("그것의 매출은 얼마인가요?", hanbit) ==
        "한빛반도체의 매출은 얼마인가요?");
  CHECK(rule_standalone_query("해당 회사는 언제 설립됐나요?", hanbit) ==
        "한빛반도체 회사는 언제 설립됐나요?");
  // A short follow-up with no subject of its own gets the topic in front.
  CHECK(rule_standalone_query("직원 수는?", hanbit) == "한빛반도체 직원 수는?");

  const auto light = after("When was the Greywick Point lighthouse first lit?");
  CHECK(rule_standalone_query("How tall is it?", light) == "How tall is Greywick Point?");
  CHECK(rule_standalone_query("Who was its first keeper?", light) ==
        "Who was Greywick Point's first keeper?");

  // Questions that stand alone, or have no history, are left as they are.
  CHECK(rule_standalone_query("달빛포구 축제의 방문객은 몇 명이었나요?", hanbit) ==
        "달빛포구 축제의 방문객은 몇 명이었나요?");
  CHECK(rule_standalone_query("그 회사의 기업 가치는?", {}) == "그 회사의 기업 가치는?");
  // The newest earlier question with a topic wins.
  std::vector<HistoryTurn> two = {{"한빛반도체의 대표이사는 누구인가요?", "..."},
                                  {"달빛포구 축제는 언제 열리나요?", "..."}};
  CHECK(rule_standalone_query("그곳의 방문객 수는?", two) == "달빛포구 축제의 방문객 수는?");
}

TEST_CASE("follow-up detection", "[followup]") {
  CHECK(looks_like_follow_up("그 회사의 기업 가치는?"));
  CHECK(looks_like_follow_up("What about its revenue?"));
  CHECK(looks_like_follow_up("직원 수는?"));
  CHECK_FALSE(looks_like_follow_up("한빛반도체의 대표이사는 누구인가요?"));
  CHECK_FALSE(looks_like_follow_up("When was the Greywick Point lighthouse first lit?"));
}

TEST_CASE("the rewriting prompt and a model's rewrite", "[followup]") {
  const auto history = after("한빛반도체의 대표이사는 누구인가요?", "박서연입니다 [1].");
  const ChatRequest r = rewrite_prompt("그 회사의 기업 가치는?", history);
  CHECK(r.system.find("User: 한빛반도체의 대표이사는 누구인가요?") != std::string::npos);
  CHECK(r.system.find("Assistant: 박서연입니다 [1].") != std::string::npos);
  CHECK(r.system.find("Korean") != std::string::npos);
  CHECK(r.system.find("{history}") == std::string::npos);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].content == "그 회사의 기업 가치는?");

  CHECK(clean_rewrite("  \"한빛반도체의 기업 가치는?\"\nBecause...") ==
        "한빛반도체의 기업 가치는?");
  CHECK(clean_rewrite("Query: Greywick Point height") == "Greywick Point height");
  CHECK(clean_rewrite("").empty());
  CHECK(clean_rewrite(std::string(2000, 'x')).empty());
  CHECK(clean_rewrite("\xff\xfe").empty());
}
