#include "index/tokenizer.h"

#include <catch2/catch.hpp>

using namespace chaja;
using V = std::vector<std::string>;

TEST_CASE("Latin words are lower-cased whole tokens", "[tokenizer]") {
  CHECK(tokenize("Hello, World! GPU-42 café", TokenMode::kDocument) ==
        V{"hello", "world", "gpu", "42", "café"});
}

TEST_CASE("Hangul becomes overlapping bigrams; one syllable stays a unigram", "[tokenizer]") {
  CHECK(tokenize("언어모델의 발전", TokenMode::kDocument) ==
        V{"언어", "어모", "모델", "델의", "발전"});
  CHECK(tokenize("책 한 권", TokenMode::kDocument) == V{"책", "한", "권"});
}

TEST_CASE("token offsets point at the token's bytes", "[tokenizer]") {
  const std::string text = "GPU 서버를 구축";
  tokenize(text, TokenMode::kDocument, [&](std::string_view t, size_t b, size_t e) {
    if (t == "gpu") {
      CHECK(text.substr(b, e - b) == "GPU");
    } else {
      CHECK(text.substr(b, e - b) == t);
    }
  });
}

TEST_CASE("query mode strips particles and endings but keeps two-syllable stems", "[tokenizer]") {
  CHECK(tokenize("반도체의", TokenMode::kQuery) == V{"반도", "도체"});
  CHECK(tokenize("모델은", TokenMode::kQuery) == V{"모델"});
  CHECK(tokenize("축제에서", TokenMode::kQuery) == V{"축제"});
  CHECK(tokenize("열리나요", TokenMode::kQuery) == V{"열리"});
  // A two-syllable word is never cut to one syllable.
  CHECK(tokenize("회의", TokenMode::kQuery) == V{"회의"});
  // Documents keep every bigram, including the one that spans the particle.
  CHECK(tokenize("반도체의", TokenMode::kDocument) == V{"반도", "도체", "체의"});
}

TEST_CASE("query mode drops stop words in both languages", "[tokenizer]") {
  CHECK(tokenize("What is the default port?", TokenMode::kQuery) == V{"default", "port"});
  CHECK(tokenize("축제는 언제 열리나요?", TokenMode::kQuery) == V{"축제", "열리"});
  CHECK(tokenize("GPU의 가격", TokenMode::kQuery) == V{"gpu", "가격"});
}

TEST_CASE("query_terms de-duplicates and falls back when only stop words remain", "[tokenizer]") {
  CHECK(query_terms("모델 모델의 모델") == V{"모델"});
  CHECK(query_terms("what is it") == V{"what", "is", "it"});
  CHECK(query_terms("?!").empty());
}

TEST_CASE("hostile input: long runs are cut, invalid bytes separate", "[tokenizer]") {
  const std::string long_word(10000, 'a');
  const auto t = tokenize(long_word, TokenMode::kDocument);
  REQUIRE(t.size() == 1);
  CHECK(t[0].size() == kMaxTokenChars);
  CHECK(tokenize("abc\xFF"
                 "def",
                 TokenMode::kDocument) == V{"abc", "def"});
  CHECK(tokenize("", TokenMode::kDocument).empty());
}

TEST_CASE("contains_hangul", "[tokenizer]") {
  CHECK(contains_hangul("what is 찾아"));
  CHECK_FALSE(contains_hangul("only English"));
}
