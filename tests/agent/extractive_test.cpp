#include "agent/extractive.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "agent/pipeline.h"
#include "index/ingest.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

using namespace chaja;

namespace {

Passage hit(int64_t doc, int64_t chunk, const std::string& title, const std::string& text) {
  Passage h;
  h.doc_id = doc;
  h.chunk_id = chunk;
  h.title = title;
  h.source = title + ".txt";
  h.text = text;
  return h;
}

// Every [n] in the answer names a citation.
void check_markers(const std::string& answer, size_t citations) {
  static const std::regex marker(R"(\[(\d+)\])");
  size_t found = 0;
  for (auto it = std::sregex_iterator(answer.begin(), answer.end(), marker);
       it != std::sregex_iterator(); ++it) {
    const int n = std::stoi((*it)[1]);
    CHECK(n >= 1);
    CHECK(static_cast<size_t>(n) <= citations);
    ++found;
  }
  CHECK(found > 0);
}

}  // namespace

TEST_CASE("extractive answer picks the sentence that covers the question", "[extractive]") {
  const std::vector<Passage> hits = {
      hit(1, 10, "Lighthouse",
          "The Ardmore lighthouse was lit for the first time in 1874. Its lamp can be seen "
          "from 23 nautical miles away. The cottage is a museum."),
      hit(2, 20, "Tea", "보성 녹차 축제는 매년 5월에 열린다. 올해 방문객은 12만 명이었다.")};
  const auto a = extract_answer("How far away can the Ardmore lamp be seen?", hits);
  REQUIRE(a.parts.size() >= 2);
  CHECK(a.parts[0] == "23 nautical miles away [1].");
  CHECK(a.parts[1] == "Its lamp can be seen from 23 nautical miles away [1].");
  REQUIRE(a.citations.size() == 1);
  CHECK(a.citations[0].n == 1);
  CHECK(a.citations[0].doc_id == 1);
  CHECK(a.citations[0].snippet.rfind("Its lamp", 0) == 0);

  const auto k = extract_answer("보성 녹차 축제는 언제 열리나요?", hits);
  REQUIRE(k.parts.size() >= 2);
  CHECK(k.lead == "5월");
  CHECK(k.parts[0] == "5월 [1].");
  CHECK(k.parts[1].find("5월에 열린다") != std::string::npos);
  CHECK(k.citations[0].doc_id == 2);
}

TEST_CASE("citations are numbered by first use, one per document", "[extractive]") {
  const std::vector<Passage> hits = {
      hit(7, 1, "A", "Falcon engines use liquid oxygen. Falcon engines were tested in May."),
      hit(8, 2, "B", "The Falcon program started in 2002 with liquid oxygen engines."),
      hit(7, 3, "A", "Falcon engines liquid oxygen pumps are made in Texas.")};
  const auto a = extract_answer("Falcon engines liquid oxygen", hits);
  REQUIRE(a.citations.size() >= 1);
  std::set<int64_t> docs;
  for (size_t i = 0; i < a.citations.size(); ++i) {
    CHECK(a.citations[i].n == static_cast<int>(i) + 1);
    CHECK(docs.insert(a.citations[i].doc_id).second);
  }
  std::string joined;
  for (const auto& p : a.parts) joined += p + " ";
  check_markers(joined, a.citations.size());
}

TEST_CASE("nothing relevant gives no answer, and the fallback speaks the question's language",
          "[extractive]") {
  const std::vector<Passage> hits = {
      hit(1, 1, "A", "Completely unrelated sentence about gardening tools.")};
  CHECK(extract_answer("quantum chromodynamics lattice", hits).parts.empty());
  CHECK(extract_answer("anything", {}).parts.empty());
  CHECK(contains_hangul(no_answer_text("질문입니까?")));
  CHECK_FALSE(contains_hangul(no_answer_text("a question?")));
}

TEST_CASE("answers on the sample set contain the labelled facts", "[extractive][quality]") {
  auto store = Store::open("");
  REQUIRE(store.ok());
  REQUIRE(
      ingest_paths(**store, {std::filesystem::path(CHAJA_SOURCE_DIR) / "docs/sample"}, {}, nullptr)
          .ok());
  Retriever retriever(**store);
  Answerer answerer(retriever);
  std::ifstream in(std::string(CHAJA_FIXTURES) + "/answers_ko_en.tsv");
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  size_t n = 0, found = 0, cited_right = 0;
  size_t lookups = 0, leads = 0, leads_right = 0;
  // A direct lookup asks for a name, a date or an amount; its answer starts with a short lead
  // ("박서연 [1]. 창업자인 …"), which a full sentence never looks like (its "[n]" follows the
  // sentence's own full stop and no full stop follows the "[n]").
  static const std::regex lead_re(R"(^([^\[]{1,80}[^.!?\]]) \[\d+\]\.(?: |$))");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string question, file, fact;
    std::getline(ss, question, '\t');
    std::getline(ss, file, '\t');
    std::getline(ss, fact, '\t');
    AskRequest req;
    req.query = question;
    auto r = answerer.ask(req);
    REQUIRE(r.ok());
    ++n;
    check_markers(r->answer, r->citations.size());
    const bool has_fact = r->answer.find(fact) != std::string::npos;
    found += has_fact;
    if (!r->citations.empty() && std::filesystem::path(r->citations[0].source).filename() == file)
      ++cited_right;
    if (!has_fact)
      std::printf("  answer lacks '%s': %s -> %s\n", fact.c_str(), question.c_str(),
                  r->answer.c_str());
    std::string lower = question;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool lookup = false;
    for (const char* cue :
         {"who ", "when ", "how many ", "how much ", "누구", "누가", "언제", "몇", "며칠", "얼마"})
      lookup = lookup || lower.find(cue) != std::string::npos;
    lookups += lookup;
    std::smatch m;
    if (std::regex_search(r->answer, m, lead_re)) {
      ++leads;
      const bool right = m[1].str().find(fact) != std::string::npos;
      leads_right += right;
      std::printf("  lead %s '%s' (labelled '%s'): %s\n", right ? "right" : "WRONG",
                  m[1].str().c_str(), fact.c_str(), question.c_str());
    } else if (lookup) {
      std::printf("  no lead: %s -> %s\n", question.c_str(), r->answer.c_str());
    }
  }
  std::printf(
      "\nextractive answers: %zu/%zu contain the labelled fact, %zu/%zu cite the right file "
      "first; leads: %zu given (%zu direct lookups), %zu contain the labelled fact\n",
      found, n, cited_right, n, leads, lookups, leads_right);
  CHECK(n >= 10);
  CHECK(found >= n * 8 / 10);
  CHECK(cited_right >= n * 9 / 10);
  CHECK(leads * 2 >= lookups);           // a lead for at least half of the direct lookups
  CHECK(leads_right * 10 >= leads * 9);  // and right when given
}

TEST_CASE("the word a question asks about decides between a subject's sentences", "[extractive]") {
  const std::vector<Passage> hits = {
      hit(1, 1, "별빛 호수 불꽃축제",
          "별빛 호수 불꽃축제가 10월 5일 별빛 호수 공원에서 열렸다. 올해 방문객은 27만 4천 명으로 "
          "집계되었다. "
          "별빛 호수 불꽃축제는 내년에도 별빛 호수 공원에서 열린다.")};
  const auto a = extract_answer("별빛 호수 불꽃축제의 방문객은 몇 명이었나요?", hits);
  REQUIRE_FALSE(a.parts.empty());
  CHECK(a.parts[0].find("27만 4천 명") != std::string::npos);
  const auto e = extract_answer("How many visitors came to the Starlake fireworks?",
                                {hit(2, 2, "Starlake",
                                     "The Starlake fireworks were held at Starlake park. "
                                     "Starlake fireworks drew 274,000 visitors this year.")});
  REQUIRE_FALSE(e.parts.empty());
  CHECK(e.parts[0].find("274,000") != std::string::npos);
}

TEST_CASE("footnote markers inside the source never become citations", "[extractive]") {
  const std::vector<Passage> hits = {hit(
      1, 1, "Bridge",
      "The Quorvix bridge was opened in 1911 by the mayor.[7] It spans the river Elm.[12, 13]")};
  const auto a = extract_answer("When was the Quorvix bridge opened?", hits);
  REQUIRE_FALSE(a.parts.empty());
  std::string joined;
  for (const auto& p : a.parts) joined += p + " ";
  CHECK(joined.find("[7]") == std::string::npos);
  CHECK(joined.find("[12") == std::string::npos);
  check_markers(joined, a.citations.size());
  REQUIRE(a.parts.size() >= 2);
  CHECK(a.parts[0] == "1911 [1].");
  CHECK(a.parts[1] == "The Quorvix bridge was opened in 1911 by the mayor [1].");
}

TEST_CASE("a direct lookup's answer span: names, dates, amounts, Korean and English",
          "[extractive]") {
  // Names next to the question's words.
  CHECK(lookup_span("Who founded Hanbit Semiconductor?",
                    "Hanbit Semiconductor was founded by Park Seo-yeon in 2009.") ==
        "Park Seo-yeon");
  CHECK(lookup_span("한빛반도체의 대표이사는 누구인가요?",
                    "창업자인 박서연 대표이사는 15년 동안 전력 소자를 연구했습니다.") == "박서연");
  CHECK(lookup_span("누리소프트의 대표는 누구인가요?",
                    "누리소프트 대표 김민준은 2019년에 취임했습니다.") == "김민준");
  // Dates and times.
  CHECK(lookup_span("When was the Greywick lighthouse first lit?",
                    "The Greywick lighthouse was first lit on 3 March 1871, after two years.") ==
        "3 March 1871");
  CHECK(lookup_span("When did the bridge open?", "The bridge opened in 1911 to traffic.") ==
        "1911");
  CHECK(lookup_span("What date is the launch?", "The launch is set for June 5, 2026.") ==
        "June 5, 2026");
  CHECK(lookup_span("축제는 언제 열렸나요?",
                    "축제가 2024년 9월 27일부터 29일까지 해솔항에서 열렸다.") ==
        "2024년 9월 27일부터 29일까지");
  CHECK(lookup_span("회사는 몇 년에 설립되었나요?", "회사는 2009년 3월 용인시에서 설립되었다.") ==
        "2009년 3월");
  // Amounts with their unit, the counter the question asks for.
  CHECK(lookup_span("축제의 방문객은 몇 명이었나요?",
                    "올해 방문객이 18만 6천 명으로 집계되었다. 드론 1,200대가 떴다.") ==
        "18만 6천 명");
  CHECK(lookup_span("다온-13B 모델의 매개변수는 몇 개인가요?",
                    "'다온-13B'는 매개변수가 130억 개이며, 2조 1천억 개의 토큰으로 학습되었다.") ==
        "130억 개");
  CHECK(lookup_span("근속 1년이 지나면 연차는 며칠 주어지나요?",
                    "근속 1년이 지나면 연차 15일이 주어지고, 이후 2년마다 1일씩 늘어 최대 25일까지 "
                    "받습니다.") == "연차 15일");
  CHECK(lookup_span("창업 당시 직원은 몇 명이었나요?", "회사는 직원 열두 명으로 출발했다.") ==
        "직원 열두 명");
  CHECK(lookup_span("How much did Corvane raise?", "Corvane raised $4.2 billion in 2021.") ==
        "$4.2 billion");
  CHECK(lookup_span("How many requests per minute may an account send?",
                    "Each account may send 600 requests per minute.") == "600 requests per minute");
  CHECK(lookup_span("How far away can the Ardmore lamp be seen?",
                    "Its lamp can be seen from 23 nautical miles away.") ==
        "23 nautical miles away");
  CHECK(lookup_span("한 잔의 가격은 얼마인가요?",
                    "아메리카노 한 잔은 4,500원이고 라테는 12온스다.") == "4,500원");
}

TEST_CASE("no lead unless the span is sure", "[extractive]") {
  // Not a direct lookup.
  CHECK(lookup_span("Why was the lighthouse automated?", "It was automated in 1968.").empty());
  CHECK(lookup_span("CUDA 버전은 무엇인가요?", "CUDA 12.4를 설치합니다.").empty());
  // Nothing of the asked type, or only what the question already says.
  CHECK(lookup_span("When was the bridge opened?", "The bridge was opened by the mayor.").empty());
  CHECK(lookup_span("방문객은 몇 명이었나요?", "드론 1,200대가 하늘을 수놓았다.").empty());
  CHECK(lookup_span("Did it open in 1911? When was that?", "It opened in 1911.").empty());
  // Two spans as near as each other: no guess.
  CHECK(lookup_span("When was it built?", "Work began in 1868 and ended in 1871.").empty());
  // A version is no amount, a month is no unit.
  CHECK(lookup_span("How many releases were there?", "Version 3.2.0 was the last.").empty());
  // A Korean word that starts like a surname is no name without a title next to it.
  CHECK(lookup_span("누가 박물관을 세웠나요?", "박물관은 바닷가에 세워졌다.").empty());
}

TEST_CASE("sentences: best first, then by source rank; near-duplicates go", "[extractive]") {
  const std::vector<Passage> hits = {
      hit(1, 1, "A",
          "Marrow Island ferries leave Port Ellis twice a day. The Marrow Island ferry takes 40 "
          "minutes to cross to Port Ellis."),
      hit(2, 2, "B",
          "The Marrow Island ferry takes forty minutes to cross to Port Ellis, weather allowing. "
          "Marrow Island ferries leave Port Ellis twice a day."),
      hit(3, 3, "C", "Marrow Island ferry tickets to Port Ellis cost 12 pounds.")};
  const auto a = extract_answer("Marrow Island ferry to Port Ellis", hits);
  REQUIRE(a.parts.size() >= 2);
  // No sentence twice, even from another source.
  std::set<std::string> seen;
  for (const auto& p : a.parts) CHECK(seen.insert(p.substr(0, p.rfind(" ["))).second);
  CHECK(a.parts[0].find("Marrow Island ferr") != std::string::npos);
  // Citation numbers never go down after the first sentence.
  int last = 0;
  for (size_t i = 1; i < a.parts.size(); ++i) {
    const int n = std::stoi(a.parts[i].substr(a.parts[i].rfind('[') + 1));
    CHECK(n >= last);
    last = n;
  }
}

namespace {

bool well_formed_question(const std::string& q, bool korean) {
  if (!utf8::is_valid(q)) return false;
  if (korean) return contains_hangul(q) && q.ends_with("요?");
  return !contains_hangul(q) && q.ends_with("?");
}

}  // namespace

TEST_CASE("related questions are derived from the sources in the question's language",
          "[extractive]") {
  Passage ko = hit(1, 1, "한빛반도체 기업 소개",
                   "한빛반도체는 2009년 용인시에서 출발했습니다. 회사의 매출은 2024년 4,870억 "
                   "원입니다. 매출의 12%를 연구개발에 씁니다. 연구개발 인력은 40%입니다.");
  Passage ko2 = hit(2, 2, "언어 모델", "## 학습은 어떻게 이루어지나\n모델은 토큰을 예측한다.");
  ko2.section = "학습은 어떻게 이루어지나";
  Passage en = hit(3, 3, "Corvane Analytics: Remote Work Policy",
                   "Passwords must be at least 14 characters long. Devices must be encrypted. "
                   "Lost devices are reported within an hour.");
  en.section = "4. Accounts and passwords";
  Passage en2 = hit(4, 4, "Greywick Point Lighthouse",
                    "## The great storm\nIn 1903 a storm broke the lantern glass. The keeper "
                    "relit the lamp. The keeper was praised.");
  en2.section = "Building the tower";

  const std::string kq = "한빛반도체의 대표이사는 누구인가요?";
  const auto k = derived_related_questions(kq, {ko, ko2});
  REQUIRE(k.size() == 3);
  for (const auto& q : k) {
    INFO(q);
    CHECK(well_formed_question(q, true));
    CHECK(q != kq);
  }
  CHECK(std::set<std::string>(k.begin(), k.end()).size() == 3);

  const std::string eq = "What is the minimum password length at Corvane?";
  const auto e = derived_related_questions(eq, {en, en2});
  REQUIRE(e.size() == 3);
  for (const auto& q : e) {
    INFO(q);
    CHECK(well_formed_question(q, false));
    CHECK(q != eq);
  }
  CHECK(std::set<std::string>(e.begin(), e.end()).size() == 3);

  CHECK(derived_related_questions(kq, {}).empty());
  CHECK(derived_related_questions(eq, {}).empty());
  // Deterministic.
  CHECK(derived_related_questions(kq, {ko, ko2}) == k);
  for (const auto& q : k) std::printf("  related (ko): %s\n", q.c_str());
  for (const auto& q : e) std::printf("  related (en): %s\n", q.c_str());

  // The extractive model sends them in its Related event and its response, drawn from the
  // documents it cited only (here the first: the second is about something else).
  const auto events = extractive_events(kq, {ko, ko2}, {});
  REQUIRE(events.size() >= 3);
  const auto& related = std::get<RelatedEvent>(events[events.size() - 2]);
  REQUIRE_FALSE(related.questions.empty());
  for (const std::string& q : related.questions) CHECK(q.find("학습") == std::string::npos);
  CHECK(std::get<DoneEvent>(events.back()).response.related_questions == related.questions);
}
