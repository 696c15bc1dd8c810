#include "agent/citations.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "index/utf8.h"

using namespace chaja;

namespace {

std::string rewrite(std::string_view text, size_t sources = 4, std::vector<int>* cited = nullptr) {
  return rewrite_citations(text, sources, cited);
}

// Feeds `text` in the given pieces; every piece returned must be valid UTF-8, and the first
// citations announced must add up to cited().
std::string feed_pieces(const std::vector<std::string_view>& pieces, size_t sources,
                        std::vector<int>* cited) {
  CitationRewriter r(sources);
  std::string out;
  std::vector<int> firsts;
  for (const std::string_view p : pieces) {
    const std::string piece = r.feed(p, &firsts);
    CHECK(utf8::is_valid(piece));
    out += piece;
  }
  const std::string tail = r.finish(&firsts);
  CHECK(utf8::is_valid(tail));
  out += tail;
  CHECK(firsts == r.cited());
  *cited = r.cited();
  return out;
}

const std::string kEnglish =
    "[2] Greywick lighthouse was first lit in 1868 [3]. It stands 31 m tall [2][3], and its "
    "keeper [note] was Thomas Hale [1, 4]. The lens [9] came from Paris [0][2]. Visitors climb "
    "137 steps [1-3]; the fog horn [2, 2] dates from 1902 [1][1]. See also [2024] and "
    "[12345] and [1a] and [text](http://x.test/a) or a [ 4 ] spaced one, a full-width "
    "[\xEF\xBC\x91] "
    "and [\xEF\xBC\x92\xEF\xBC\x8C\xEF\xBC\x93], [3] [4] grouped, and a cut-off [4";
const std::string kKorean =
    "한빛반도체의 대표이사는 박서연입니다 [1]. 직원 수는 18만 6천 명입니다【2】. 본사는 "
    "경기도 성남시에 있습니다 [9]. 매출은 3.5조 원이며 [2,3] 영업이익은 1,024억 원입니다 [３]. "
    "설립 연도는 [1998] 로 알려져 있습니다 [4][0]\n[7] 새 줄의 문장입니다 [2].";

}  // namespace

TEST_CASE("markers are renumbered in order of first use", "[citations]") {
  std::vector<int> cited;
  CHECK(rewrite("Alpha [3]. Beta [1]. Gamma [3].", 4, &cited) == "Alpha [1]. Beta [2]. Gamma [1].");
  CHECK(cited == std::vector<int>{3, 1});
  CHECK(rewrite("[2] at the start.", 4, &cited) == "[1] at the start.");
  CHECK(cited == std::vector<int>{2});
  // A group is written sorted by final number, new sources numbered in the order written.
  CHECK(rewrite("A [1]. B [4][1][3].", 4, &cited) == "A [1]. B [1][2][3].");
  CHECK(cited == std::vector<int>{1, 4, 3});
  CHECK(rewrite("No markers at all.", 4, &cited) == "No markers at all.");
  CHECK(cited.empty());
}

TEST_CASE("every marker form is written canonically", "[citations]") {
  CHECK(rewrite("x [1].") == "x [1].");
  CHECK(rewrite("x [2][3].") == "x [1][2].");
  CHECK(rewrite("x [1, 2].") == "x [1][2].");
  CHECK(rewrite("x [1,2].") == "x [1][2].");
  CHECK(rewrite("x [ 1 , 2 ].") == "x [1][2].");
  CHECK(rewrite("x [1-3].") == "x [1][2][3].");
  CHECK(rewrite("x [1 - 3].") == "x [1][2][3].");
  CHECK(rewrite("x [3-1].") == "x [1][2][3].");
  CHECK(rewrite("x [2-9].") == "x [1][2][3].");     // clipped to the sources
  CHECK(rewrite("x [\xEF\xBC\x91].") == "x [1].");  // [１]
  CHECK(rewrite("x \xE3\x80\x90"
                "2\xE3\x80\x91.") == "x [1].");  // 【2】
  CHECK(rewrite("x \xEF\xBC\xBB"
                "3\xEF\xBC\xBD.") == "x [1].");  // ［3］
  CHECK(rewrite("x [1\xEF\xBC\x8C"
                "2].") == "x [1][2].");  // full-width comma
  CHECK(rewrite("x [1\xE3\x80\x81"
                "2].") == "x [1][2].");  // 、
  CHECK(rewrite("x [1\xE2\x80\x93"
                "3].") == "x [1][2][3].");      // en dash
  CHECK(rewrite("x [1] [2].") == "x [1][2].");  // spaces inside a group go
  CHECK(rewrite("x [01].") == "x [1].");
}

TEST_CASE("duplicates collapse", "[citations]") {
  std::vector<int> cited;
  CHECK(rewrite("x [1][1].", 4, &cited) == "x [1].");
  CHECK(rewrite("x [2, 2].", 4, &cited) == "x [1].");
  CHECK(cited == std::vector<int>{2});
  CHECK(rewrite("x [2][1, 2] [2-2].", 4, &cited) == "x [1][2].");
  CHECK(cited == std::vector<int>{2, 1});
}

TEST_CASE("markers naming no source vanish with their spaces", "[citations]") {
  std::vector<int> cited;
  CHECK(rewrite("foo [9].", 4, &cited) == "foo.");
  CHECK(cited.empty());
  CHECK(rewrite("foo [0].") == "foo.");
  CHECK(rewrite("foo [9] bar.") == "foo bar.");
  CHECK(rewrite("foo [9]bar.") == "foo bar.");
  CHECK(rewrite("foo [9][0], bar.") == "foo, bar.");
  CHECK(rewrite("foo [0][2].") == "foo [1].");
  CHECK(rewrite("foo [9, 2].") == "foo [1].");
  CHECK(rewrite("foo [2] [9].") == "foo [1].");
  CHECK(rewrite("[9] Foo.\n[0] Bar.") == "Foo.\nBar.");
  CHECK(rewrite("foo [9]\nbar") == "foo\nbar");
  CHECK(rewrite("foo [9]") == "foo");
  CHECK(rewrite("foo [3]", 2) == "foo");
  CHECK(rewrite("foo [1]", 0) == "foo");
  // Cut off by the end of the stream.
  CHECK(rewrite("foo [2") == "foo");
  CHECK(rewrite("foo [2, ") == "foo");
  CHECK(rewrite("foo [1] [2") == "foo [1]");
  CHECK(rewrite("foo [") == "foo [");

  const std::string out =
      rewrite("One [9] two [0]. Three [5][6] four [2]. Five [7] , six [8] [9] seven.");
  CHECK(out == "One two. Three four [1]. Five, six seven.");
  CHECK(out.find("  ") == std::string::npos);
}

TEST_CASE("text that only looks like a marker passes through", "[citations]") {
  for (const char* text :
       {"see [note] here", "year [2024] here", "big [12345] here", "odd [1a] here",
        "[text](http://x.test/) link", "[1-2-3] twice", "[1,] trailing", "[,1] leading", "[] empty",
        "[ ] blank", "a [b [c", "x [1 2] y", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]"}) {
    INFO(text);
    std::vector<int> cited;
    CHECK(rewrite(text, 20, &cited) == text);
    CHECK(cited.empty());
  }
  CHECK(rewrite("[[1]]") == "[[1]]");
  CHECK(rewrite("x [note] [1].") == "x [note] [1].");
  CHECK(rewrite("x [1] [note].") == "x [1] [note].");
  CHECK(rewrite("x [9] [note].") == "x [note].");
  CHECK(rewrite("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", 20) ==
        "[1][2][3][4][5][6][7][8][9][10]");  // 31 bytes: still a marker
}

TEST_CASE("first citations are announced with the piece that cites them", "[citations]") {
  CitationRewriter r(4);
  std::vector<int> firsts;
  CHECK(r.feed("Alpha [3", &firsts).empty() == false);
  CHECK(firsts.empty());  // "[3" is held back
  CHECK(r.feed("]. Beta [1][3]", &firsts) == " [1]. Beta");
  CHECK(firsts == std::vector<int>{3});  // the group "[1][3]" may still grow
  firsts.clear();
  CHECK(r.feed(". Done", &firsts) == " [1][2]. Done");
  CHECK(firsts == std::vector<int>{1});
  firsts.clear();
  CHECK(r.finish(&firsts).empty());
  CHECK(firsts.empty());
  CHECK(r.cited() == std::vector<int>{3, 1});
}

TEST_CASE("held-back text stays short", "[citations]") {
  CitationRewriter r(4);
  // A bracket longer than a marker can be is released as it grows.
  const std::string long_bracket = "[" + std::string(100, '1');
  std::string out = r.feed(long_bracket);
  CHECK(out.size() + kMaxMarkerBytes >= long_bracket.size());
  out += r.feed(" [1, 2, 3");
  CHECK(out == long_bracket);  // " [1, 2, 3" may still become a marker
  out += r.finish();
  CHECK(out == long_bracket);
}

TEST_CASE("the output does not depend on where the stream is split", "[citations]") {
  for (const std::string* text : {&kEnglish, &kKorean}) {
    std::vector<int> whole_cited;
    const std::string whole = rewrite(*text, 4, &whole_cited);
    INFO(whole);
    REQUIRE(utf8::is_valid(whole));
    REQUIRE(!whole_cited.empty());
    for (size_t cut = 0; cut <= text->size(); ++cut) {
      INFO("cut at " << cut);
      const std::string_view sv(*text);
      std::vector<int> cited;
      REQUIRE(feed_pieces({sv.substr(0, cut), sv.substr(cut)}, 4, &cited) == whole);
      REQUIRE(cited == whole_cited);
    }
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < text->size(); ++i) bytes.push_back(std::string_view(*text).substr(i, 1));
    std::vector<int> cited;
    CHECK(feed_pieces(bytes, 4, &cited) == whole);
    CHECK(cited == whole_cited);

    std::mt19937 rng(42);
    for (int round = 0; round < 200; ++round) {
      std::vector<std::string_view> pieces;
      for (size_t i = 0; i < text->size();) {
        const size_t n = std::uniform_int_distribution<size_t>(0, 7)(rng);
        pieces.push_back(std::string_view(*text).substr(i, n));
        i += n;
      }
      REQUIRE(feed_pieces(pieces, 4, &cited) == whole);
    }
  }
  CHECK(rewrite(kEnglish) ==
        "[1] Greywick lighthouse was first lit in 1868 [2]. It stands 31 m tall [1][2], and its "
        "keeper [note] was Thomas Hale [3][4]. The lens came from Paris [1]. Visitors climb 137 "
        "steps [1][2][3]; the fog horn [1] dates from 1902 [3]. See also [2024] and [12345] and "
        "[1a] and [text](http://x.test/a) or a [4] spaced one, a full-width [3] and [1][2], "
        "[2][4] grouped, and a cut-off");
  CHECK(rewrite(kKorean) ==
        "한빛반도체의 대표이사는 박서연입니다 [1]. 직원 수는 18만 6천 명입니다[2]. 본사는 "
        "경기도 성남시에 있습니다. 매출은 3.5조 원이며 [2][3] 영업이익은 1,024억 원입니다 "
        "[3]. 설립 연도는 [1998] 로 알려져 있습니다 [4]\n새 줄의 문장입니다 [2].");
}

TEST_CASE("invalid UTF-8 passes through unchanged", "[citations]") {
  const std::string text = "a \xFF [1] \xE3\x80 b \xE3\x80\x90";
  CHECK(rewrite(text) == "a \xFF [1] \xE3\x80 b \xE3\x80\x90");
}

// ---- Claims -------------------------------------------------------------------------------------

TEST_CASE("a claim in English is supported by its source", "[citations]") {
  const std::vector<std::string> sources = {
      "The Greywick lighthouse was first lit in 1868. Its keeper was Thomas Hale.",
      "Paris is the capital of France."};
  const auto claims = verify_claims(
      "Greywick lighthouse was first lit in 1868 [1]. It is a fine place. Paris is the capital "
      "of France [2].",
      sources);
  REQUIRE(claims.size() == 2);  // the sentence without a marker is not a claim
  CHECK(claims[0].text == "Greywick lighthouse was first lit in 1868.");
  CHECK(claims[0].citations == std::vector<int>{1});
  CHECK(claims[0].support == Approx(1.0));
  CHECK(claims[0].supported);
  CHECK(claims[1].text == "Paris is the capital of France.");
  CHECK(claims[1].citations == std::vector<int>{2});
  CHECK(claims[1].supported);
}

TEST_CASE("a Korean claim matches across particles", "[citations]") {
  const std::vector<std::string> sources = {"한빛반도체의 대표이사는 박서연이다."};
  const auto claims = verify_claims("대표이사는 박서연입니다 [1].", sources);
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].text == "대표이사는 박서연입니다.");
  CHECK(claims[0].support == Approx(1.0));
  CHECK(claims[0].supported);

  const auto wrong = verify_claims("대표이사는 김민준입니다 [1].", sources);
  REQUIRE(wrong.size() == 1);
  CHECK(wrong[0].support < 1.0);
}

TEST_CASE("unsupported claims are flagged", "[citations]") {
  const std::vector<std::string> sources = {
      "한빛반도체의 임직원 수는 18만 6천 명이며 매출은 1,024억 원이다.",
      "The Greywick lighthouse was first lit in 1868."};
  SECTION("a wrong number") {
    const auto ok = verify_claims("한빛반도체의 임직원 수는 18만 6천 명입니다 [1].", sources);
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].supported);
    const auto bad = verify_claims("한빛반도체의 임직원 수는 18만 7천 명입니다 [1].", sources);
    REQUIRE(bad.size() == 1);
    CHECK_FALSE(bad[0].supported);
    CHECK(bad[0].support <= 0.25);
    const auto year = verify_claims("The Greywick lighthouse was first lit in 1869 [2].", sources);
    REQUIRE(year.size() == 1);
    CHECK_FALSE(year[0].supported);
  }
  SECTION("numbers compare by value") {
    for (const char* answer :
         {"한빛반도체의 임직원은 186,000명입니다 [1].", "한빛반도체의 매출은 1024억 원입니다 [1].",
          "한빛반도체의 매출은 1,024억 원입니다 [1]."}) {
      INFO(answer);
      const auto c = verify_claims(answer, sources);
      REQUIRE(c.size() == 1);
      CHECK(c[0].supported);
    }
  }
  SECTION("words absent from the source") {
    const auto c = verify_claims("Aliens painted the Greywick lighthouse purple [2].", sources);
    REQUIRE(c.size() == 1);
    CHECK(c[0].support < 0.5);
    CHECK_FALSE(c[0].supported);
  }
  SECTION("the wrong source cited") {
    const auto c = verify_claims("The Greywick lighthouse was first lit in 1868 [1].", sources);
    REQUIRE(c.size() == 1);
    CHECK_FALSE(c[0].supported);
  }
  SECTION("a marker naming no source") {
    const auto c = verify_claims("The Greywick lighthouse was first lit in 1868 [7].", sources);
    REQUIRE(c.size() == 1);
    CHECK(c[0].citations.empty());
    CHECK(c[0].support == 0);
    CHECK_FALSE(c[0].supported);
  }
}

TEST_CASE("a claim citing two sources is checked against their union", "[citations]") {
  const std::vector<std::string> sources = {"The Greywick lighthouse was first lit in 1868.",
                                            "Thomas Hale kept the Greywick lighthouse."};
  const std::string answer = "Thomas Hale kept the Greywick lighthouse, first lit in 1868 [1][2].";
  const auto both = verify_claims(answer, sources);
  REQUIRE(both.size() == 1);
  CHECK(both[0].citations == std::vector<int>{1, 2});
  CHECK(both[0].support == Approx(1.0));
  CHECK(both[0].supported);
  // Either source alone lacks part of it (and the second lacks the year).
  const auto first =
      verify_claims("Thomas Hale kept the Greywick lighthouse, first lit in 1868 [1].", sources);
  REQUIRE(first.size() == 1);
  CHECK(first[0].support < both[0].support);
  const auto second =
      verify_claims("Thomas Hale kept the Greywick lighthouse, first lit in 1868 [2].", sources);
  REQUIRE(second.size() == 1);
  CHECK_FALSE(second[0].supported);
}

TEST_CASE("the threshold decides what is supported", "[citations]") {
  const std::vector<std::string> sources = {"The Greywick lighthouse was first lit in 1868."};
  // Content terms: greywick lighthouse painted red (1868 is checked as a number): 2 of 4 found.
  const std::string answer = "Greywick lighthouse was painted red in 1868 [1].";
  const auto half = verify_claims(answer, sources, 0.5);
  REQUIRE(half.size() == 1);
  CHECK(half[0].support == Approx(0.5));
  CHECK(half[0].supported);
  const auto strict = verify_claims(answer, sources, 0.6);
  REQUIRE(strict.size() == 1);
  CHECK(strict[0].support == Approx(0.5));
  CHECK_FALSE(strict[0].supported);
  // A missing number caps support below any threshold above zero.
  const auto capped = verify_claims("Greywick lighthouse was first lit in 1999 [1].", sources, 0.8);
  REQUIRE(capped.size() == 1);
  CHECK(capped[0].support == Approx(0.4));
  CHECK_FALSE(capped[0].supported);
}

TEST_CASE("claims follow the sentences of a rewritten answer", "[citations]") {
  const std::vector<std::string> model_sources = {"Unrelated text about weather.",
                                                  "The Greywick lighthouse was first lit in 1868.",
                                                  "Its keeper was Thomas Hale."};
  std::vector<int> cited;
  const std::string answer = rewrite_citations(
      "Greywick lighthouse was first lit in 1868 [2] [9]. Its keeper was Thomas Hale.[3] Fin.", 3,
      &cited);
  CHECK(answer ==
        "Greywick lighthouse was first lit in 1868 [1]. Its keeper was Thomas Hale.[2] Fin.");
  std::vector<std::string> texts;
  for (const int m : cited) texts.push_back(model_sources[static_cast<size_t>(m - 1)]);
  const auto claims = verify_claims(answer, texts);
  REQUIRE(claims.size() == 2);
  CHECK(claims[0].citations == std::vector<int>{1});
  CHECK(claims[0].supported);
  CHECK(claims[1].text == "Its keeper was Thomas Hale.");
  CHECK(claims[1].citations == std::vector<int>{2});
  CHECK(claims[1].supported);
}

TEST_CASE("a marker after the full stop belongs to the sentence before it", "[citations]") {
  const std::vector<std::string> sources = {
      "2025년 2월 기준 한빛반도체의 기업 가치는 약 2조 3,000억 원입니다."};
  const auto claims =
      verify_claims("한빛반도체의 기업 가치는 약 2조 3,000억 원입니다. [1] 그 밖의 문장.", sources);
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].text == "한빛반도체의 기업 가치는 약 2조 3,000억 원입니다.");
  CHECK(claims[0].citations == std::vector<int>{1});
  CHECK(claims[0].supported);
}
