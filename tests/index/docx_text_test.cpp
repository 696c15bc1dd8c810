// .docx text through libzip + libxml2. Fixtures in tests/fixtures/docx, all written by
// make_docx.py there (standard library only; deterministic).
#include "index/docx_text.h"

#include <catch2/catch.hpp>

#include "index/chunker.h"
#include "index/ingest.h"
#include "index/test_util.h"
#include "index/utf8.h"

using namespace chaja;

namespace {

std::string fixture(const std::string& name) {
  return test::read_file(std::string(CHAJA_FIXTURES) + "/docx/" + name);
}

using test::has;

}  // namespace

TEST_CASE("docx: paragraphs, runs, tabs, breaks, headings and a table", "[docx]") {
  auto docx = docx_to_text(fixture("english.docx"));
  REQUIRE(docx.ok());
  CHECK(docx->title == "Greywick Harbour Notes");  // core.xml dc:title
  const std::string& t = docx->text;
  INFO(t);
  CHECK(t.starts_with("# Greywick Harbour Report\n\n"));
  CHECK(has(t, "\nThe Greywick harbour crane was built in 1911 by Ardley Ironworks.\n"));
  CHECK(has(t, "\nTides:\ttwice a day\nsecond line\n"));
  CHECK(has(t, "\n\n## Cargo\n\n"));
  CHECK(has(t, "\n\n| Year | Tonnes |\n| 1964 | 12,400 |\n| 1971 | 3,100 |\n\n"));
  CHECK(has(t, "The quay closed to cargo in 1971."));
  // Tracked deletions and field codes are not text.
  CHECK(has(t, "Kept."));
  CHECK_FALSE(has(t, "Deleted"));
  CHECK_FALSE(has(t, "PAGE"));
  CHECK(utf8::is_valid(t));
}

TEST_CASE("docx: Korean, localised heading style ids, title from the first paragraph", "[docx]") {
  auto docx = docx_to_text(fixture("korean.docx"));
  REQUIRE(docx.ok());
  INFO(docx->text);
  CHECK(docx->title == "한빛반도체 회사 소개");  // no dc:title; heading marks not in the title
  CHECK(docx->text.starts_with("# 한빛반도체 회사 소개\n"));
  CHECK(has(docx->text, "\n한빛반도체의 청주 공장은 2019년에 준공되었습니다.\n"));
  CHECK(has(docx->text, "\n## 연구소\n"));  // style id "2" named "heading 2" in styles.xml
  CHECK(has(docx->text, "| 공장 | 청주시 흥덕구 |"));

  // The chunker sees the sections (chunks small enough that the fact starts one).
  ChunkOptions small;
  small.target_chars = 20;
  small.max_chars = 80;
  small.overlap_chars = 0;
  bool under_lab = false;
  for (const Chunk& c : chunk_text(docx->text, small))
    if (has(c.text, "87명")) under_lab = c.section == "연구소";
  CHECK(under_lab);
}

TEST_CASE("docx: no title anywhere falls back to the caller's, through prepare_document",
          "[docx]") {
  auto docx = docx_to_text(fixture("no_title.docx"));
  REQUIRE(docx.ok());
  CHECK(docx->title.empty());  // the first paragraph is over 100 characters
  auto doc = prepare_document(fixture("no_title.docx"), DocFormat::kDocx, "no_title");
  REQUIRE(doc.ok());
  CHECK(doc->title == "no_title");
  CHECK(has(doc->text, "second paragraph"));

  auto f = format_of("Report.DOCX");
  REQUIRE(f.ok());
  CHECK(*f == DocFormat::kDocx);
  auto other = format_of("old.doc");
  REQUIRE_FALSE(other.ok());
  CHECK(has(other.error().message, ".docx"));
}

TEST_CASE("docx: invalid UTF-8 inside a part is repaired", "[docx]") {
  auto docx = docx_to_text(fixture("bad_utf8.docx"));
  REQUIRE(docx.ok());
  INFO(docx->text);
  CHECK(utf8::is_valid(docx->text));
  CHECK(has(docx->text, "café \xEF\xBF\xBD ok"));
  CHECK(has(docx->text, "end"));
}

TEST_CASE("docx: hostile and broken files are error values", "[docx]") {
  SECTION("an OLE container (password-protected Office file)") {
    auto r = docx_to_text(fixture("encrypted.docx"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kUnsupported);
    CHECK(has(r.error().message, "encrypted"));
  }
  SECTION("a corrupt ZIP") {
    auto r = docx_to_text(fixture("corrupt.docx"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidInput);
    CHECK(r.error().message == "not a readable .docx");
  }
  SECTION("not a ZIP at all") {
    auto r = docx_to_text("just some text, renamed .docx");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidInput);
    CHECK(docx_to_text("").error().kind == ErrorKind::kInvalidInput);
  }
  SECTION("a ZIP without word/document.xml") {
    auto r = docx_to_text(fixture("missing_document.docx"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "not a readable .docx");
  }
  SECTION("a DTD with an entity bomb is refused, nothing expanded") {
    auto r = docx_to_text(fixture("entities.docx"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidInput);
  }
  SECTION("document.xml declaring 4 GB uncompressed") {
    auto r = docx_to_text(fixture("bomb_declared.docx"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kTooLarge);
    CHECK(has(r.error().message, "word/document.xml"));
  }
  SECTION("document.xml understating its size: never more than the cap is read") {
    // 4 MiB of spaces whose headers claim 100 bytes: the declared size passes the first check,
    // the read stops at the cap. (Under the default 64 MiB cap the same file reads fine.)
    DocxLimits small;
    small.max_part_bytes = 1 << 20;
    auto capped = docx_to_text(fixture("bomb_understated.docx"), small);
    REQUIRE_FALSE(capped.ok());
    CHECK(capped.error().kind == ErrorKind::kTooLarge);
    auto r = docx_to_text(fixture("bomb_understated.docx"));
    REQUIRE(r.ok());
    CHECK(r->text == "x\ny");
  }
  SECTION("the byte caps") {
    DocxLimits limits;
    limits.max_bytes = 100;
    auto r = docx_to_text(fixture("english.docx"), limits);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kTooLarge);
    limits = {};
    limits.max_part_bytes = 500;  // document.xml is over 500 bytes uncompressed
    CHECK(docx_to_text(fixture("english.docx"), limits).error().kind == ErrorKind::kTooLarge);
    limits = {};
    limits.max_text_bytes = 50;
    CHECK(docx_to_text(fixture("english.docx"), limits).error().kind == ErrorKind::kTooLarge);
  }
}
