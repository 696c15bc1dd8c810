#include "agent/extractive.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "agent/pipeline.h"
#include "index/ingest.h"
#include "index/tokenizer.h"

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
  REQUIRE_FALSE(a.parts.empty());
  CHECK(a.parts[0] == "Its lamp can be seen from 23 nautical miles away. [1]");
  REQUIRE(a.citations.size() == 1);
  CHECK(a.citations[0].n == 1);
  CHECK(a.citations[0].doc_id == 1);
  CHECK(a.citations[0].snippet.rfind("Its lamp", 0) == 0);

  const auto k = extract_answer("보성 녹차 축제는 언제 열리나요?", hits);
  REQUIRE_FALSE(k.parts.empty());
  CHECK(k.parts[0].find("5월에 열린다") != std::string::npos);
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
  }
  std::printf(
      "\nextractive answers: %zu/%zu contain the labelled fact, %zu/%zu cite the right file "
      "first\n",
      found, n, cited_right, n);
  CHECK(n >= 10);
  CHECK(found >= n * 8 / 10);
  CHECK(cited_right >= n * 9 / 10);
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
  CHECK(a.parts[0] == "The Quorvix bridge was opened in 1911 by the mayor. [1]");
}
