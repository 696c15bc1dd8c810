#include "index/chunker.h"

#include <chrono>

#include <catch2/catch.hpp>

#include "index/test_util.h"
#include "index/utf8.h"

using namespace chaja;

namespace {

std::vector<std::string> sentences(const std::string& text) {
  std::vector<std::string> out;
  for (const Span& s : split_sentences(text)) out.push_back(text.substr(s.start, s.end - s.start));
  return out;
}

// Every chunk is valid UTF-8, is the text at its offsets, and is within the size ceiling.
void check_chunks(const std::string& text, const std::vector<Chunk>& chunks,
                  const ChunkOptions& o) {
  for (const Chunk& c : chunks) {
    CHECK(utf8::is_valid(c.text));
    CHECK(text.substr(c.start, c.end - c.start) == c.text);
    CHECK(utf8::length(c.text) <= o.max_chars + o.overlap_chars);
  }
}

}  // namespace

TEST_CASE("Korean sentences end at 다. 요. and question marks", "[chunker]") {
  const auto s = sentences("축제는 5월에 열린다. 방문객이 많았어요. 내년에도 열릴까요? 그렇다");
  CHECK(s == std::vector<std::string>{"축제는 5월에 열린다.", "방문객이 많았어요.",
                                      "내년에도 열릴까요?", "그렇다"});
}

TEST_CASE("English sentences keep abbreviations and decimals", "[chunker]") {
  const auto s =
      sentences("Dr. Kim measured 3.5 volts, e.g. in lab 4. It worked! Did J. R. Kim see it?");
  CHECK(s == std::vector<std::string>{"Dr. Kim measured 3.5 volts, e.g. in lab 4.", "It worked!",
                                      "Did J. R. Kim see it?"});
}

TEST_CASE("CJK full stops and line breaks end sentences; hard wraps do not", "[chunker]") {
  CHECK(sentences("第一句。第二句") == std::vector<std::string>{"第一句。", "第二句"});
  CHECK(sentences("제목\n본문 첫 줄") == std::vector<std::string>{"제목", "본문 첫 줄"});
  const std::string wrapped =
      "The lighthouse stands on a granite headland at the northern tip of the island,\n"
      "where two currents meet. Ships were lost there.";
  CHECK(sentences(wrapped).size() == 2);
  CHECK(sentences("- item one that is long enough to look like a wrapped line of text\n- item two")
            .size() == 2);
}

TEST_CASE("mixed Korean and English text", "[chunker]") {
  const auto s = sentences("GPU 서버는 NVLink로 연결한다. Then install CUDA 12.4. 완료!");
  CHECK(s == std::vector<std::string>{"GPU 서버는 NVLink로 연결한다.", "Then install CUDA 12.4.",
                                      "완료!"});
}

TEST_CASE("empty and blank text give no chunks", "[chunker]") {
  CHECK(chunk_text("").empty());
  CHECK(chunk_text(" \n\n\t ").empty());
}

TEST_CASE("chunks respect the target, overlap, and offsets", "[chunker]") {
  std::string text;
  for (int i = 0; i < 60; ++i)
    text += "문장 번호 " + std::to_string(i) + "은 검색 품질을 시험하기 위한 문장입니다. ";
  ChunkOptions o;
  o.target_chars = 200;
  o.max_chars = 300;
  o.overlap_chars = 60;
  const auto chunks = chunk_text(text, o);
  REQUIRE(chunks.size() > 5);
  check_chunks(text, chunks, o);
  for (size_t i = 1; i < chunks.size(); ++i) {
    CHECK(chunks[i].start < chunks[i - 1].end);    // overlap
    CHECK(chunks[i].start > chunks[i - 1].start);  // progress
  }
  CHECK(chunks.back().end == text.size() - 1);  // the trailing space is trimmed
}

TEST_CASE("one giant line without spaces is cut on code point boundaries", "[chunker]") {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "가";
  ChunkOptions o;
  const auto chunks = chunk_text(text, o);
  REQUIRE(chunks.size() >= 20000 / o.max_chars);
  check_chunks(text, chunks, o);
  size_t covered = 0;
  for (const auto& c : chunks) covered += utf8::length(c.text);
  CHECK(covered >= 20000);
}

TEST_CASE("one giant line with spaces is cut at spaces", "[chunker]") {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "word" + std::to_string(i) + " ";
  const auto chunks = chunk_text(text);
  REQUIRE(chunks.size() > 3);
  for (const auto& c : chunks) {
    CHECK(c.text.front() != ' ');
    CHECK(c.text.back() != ' ');
  }
}

TEST_CASE("Markdown headings name the section of the chunks under them", "[chunker]") {
  std::string text = "# Guide\n\nIntro sentence here.\n\n## Install\n\n";
  for (int i = 0; i < 30; ++i)
    text += "Install step " + std::to_string(i) + " does one thing well. ";
  ChunkOptions o;
  o.target_chars = 150;
  o.max_chars = 250;
  const auto chunks = chunk_text(text, o);
  REQUIRE(chunks.size() > 2);
  CHECK(chunks.back().section == "Install");
}

TEST_CASE("invalid UTF-8 never crashes the chunker", "[chunker]") {
  const std::string text = "앞 문장이다. \xFF\xFE 깨진 \xEA\xB0 바이트. 끝.";
  const auto chunks = chunk_text(text);
  REQUIRE(!chunks.empty());
  for (const auto& c : chunks) CHECK(text.substr(c.start, c.end - c.start) == c.text);
}

TEST_CASE("long runs of punctuation are split in linear time", "[chunker]") {
  // Quadratic rescanning made 200 KB of dots take minutes; linear work takes milliseconds.
  for (const char c : {'.', '!', '?', ')'}) {
    std::string text(2'000'000, c);
    text += "x\n";
    const auto t0 = std::chrono::steady_clock::now();
    const auto chunks = chunk_text(text);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(!chunks.empty());
    CHECK(s < 2.0);
  }
  std::string dotted;
  for (int i = 0; i < 200000; ++i) dotted += "a.";
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(!chunk_text(dotted).empty());
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 2.0);
}

namespace {

// No chunk may lie inside the one before it: such a chunk adds nothing to the index.
void check_each_chunk_advances(const std::vector<Chunk>& chunks) {
  for (size_t i = 1; i < chunks.size(); ++i) {
    INFO("chunk " << i << " [" << chunks[i].start << ", " << chunks[i].end << ")");
    CHECK(chunks[i].start > chunks[i - 1].start);
    CHECK(chunks[i].end > chunks[i - 1].end);
  }
}

}  // namespace

// Found by tests/fuzz/fuzz_chunker: when the overlap carried into the next chunk left no room for
// the following sentence, the next chunk was the overlap alone, a tail of the chunk before.
TEST_CASE("the overlap never leaves a chunk that repeats the previous one's tail",
          "[chunker][fuzz]") {
  const std::string text =
      "Alpha.\n"
      "Bravo bravo bravo bravo bravo.\n"                               // 30 characters
      "Delta delta delta delta delta.\n"                               // 30
      "Echo echo echo echo echo echo echo echo echo echo echo echo.";  // 60
  const ChunkOptions options{.target_chars = 100, .max_chars = 180, .overlap_chars = 80};
  const auto chunks = chunk_text(text, options);
  check_each_chunk_advances(chunks);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0].text == text.substr(0, text.find("\nEcho")));
  CHECK(chunks[1].text == text.substr(text.find("Delta")));  // overlap: the Delta sentence

  // The fuzzer's input itself (a Korean document), with the options it drew.
  std::string korean = test::read_file(std::string(CHAJA_SOURCE_DIR) +
                                       "/tests/fuzz/regressions/fuzz_chunker/"
                                       "crash-4982b6bb7f80ccd78b881706c85b19aa118f2d64");
  utf8::repair(korean);
  check_each_chunk_advances(
      chunk_text(korean, {.target_chars = 106, .max_chars = 182, .overlap_chars = 89}));
}
