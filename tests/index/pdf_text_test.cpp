// PDF text through poppler. Fixtures in tests/fixtures/pdf: english, korean and two_pages printed
// from src/*.html by `chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer
// --print-to-pdf=OUT.pdf file://.../src/X.html` (Hangul from fonts-nanum); no_title and encrypted
// written by make_plain_pdfs.py; corrupt is korean.pdf cut to its first 9,000 bytes.
#include "index/pdf_text.h"

#include <catch2/catch.hpp>

#include "index/ingest.h"
#include "index/test_util.h"
#include "index/utf8.h"

using namespace chaja;

namespace {

std::string fixture(const std::string& name) {
  return test::read_file(std::string(CHAJA_FIXTURES) + "/pdf/" + name);
}

using test::has;

}  // namespace

TEST_CASE("pdf: English text and the metadata title", "[pdf]") {
  auto pdf = pdf_to_text(fixture("english.pdf"));
  REQUIRE(pdf.ok());
  CHECK(pdf->pages == 1);
  CHECK(pdf->title == "Greywick Harbour Notes");
  CHECK(has(pdf->text, "The Greywick harbour crane was built in 1911"));
  CHECK(has(pdf->text, "the quay closed to cargo."));
  CHECK(has(pdf->text, "built in 1911 by Ardley Ironworks.\nIt lifted"));
  // Reading order: the first paragraph before the second.
  CHECK(pdf->text.find("1911") < pdf->text.find("1964"));
}

TEST_CASE("pdf: Hangul comes back as UTF-8", "[pdf]") {
  auto pdf = pdf_to_text(fixture("korean.pdf"));
  REQUIRE(pdf.ok());
  CHECK(pdf->title == "한빛반도체 회사 소개");
  CHECK(utf8::is_valid(pdf->text));
  CHECK(has(pdf->text, "한빛반도체의 대표이사는 박서연입니다."));
  // The line wrapped at the page margin is joined back into one sentence.
  CHECK(has(pdf->text, "직원 수는 1,240명입니다.\n"));
  CHECK(has(pdf->text, "청주 공장은 2019년에 준공되었으며"));
}

TEST_CASE("pdf: pages in order, separated by a blank line", "[pdf]") {
  auto pdf = pdf_to_text(fixture("two_pages.pdf"));
  REQUIRE(pdf.ok());
  CHECK(pdf->pages == 2);
  const size_t first = pdf->text.find("apple trees planted in spring.");
  const size_t second = pdf->text.find("The second page counts forty-two pear trees");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  CHECK(first < second);
  CHECK(pdf->text.substr(first, second - first).find("\n\n") != std::string::npos);
}

TEST_CASE("pdf: hostile input is an error value", "[pdf]") {
  SECTION("locked by a user password") {
    auto pdf = pdf_to_text(fixture("encrypted.pdf"));
    REQUIRE_FALSE(pdf.ok());
    CHECK(pdf.error().kind == ErrorKind::kUnsupported);
    CHECK(has(pdf.error().message, "encrypted"));
  }
  SECTION("truncated") {
    auto pdf = pdf_to_text(fixture("corrupt.pdf"));
    REQUIRE_FALSE(pdf.ok());
    CHECK(pdf.error().kind == ErrorKind::kInvalidInput);
    CHECK(pdf.error().message == "not a readable PDF");
  }
  SECTION("not a PDF at all") {
    for (const std::string& bytes : {std::string(), std::string("%PDF-1.4"),
                                     std::string("hello, world\n"), std::string(4096, '\0')}) {
      auto pdf = pdf_to_text(bytes);
      REQUIRE_FALSE(pdf.ok());
      CHECK(pdf.error().kind == ErrorKind::kInvalidInput);
    }
  }
  SECTION("over the byte and page caps") {
    PdfLimits small;
    small.max_bytes = 1000;
    auto big = pdf_to_text(fixture("english.pdf"), small);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().kind == ErrorKind::kTooLarge);
    PdfLimits one_page;
    one_page.max_pages = 1;
    auto pages = pdf_to_text(fixture("two_pages.pdf"), one_page);
    REQUIRE_FALSE(pages.ok());
    CHECK(pages.error().kind == ErrorKind::kTooLarge);
    CHECK(has(pages.error().message, "2 pages"));
  }
}

TEST_CASE("pdf: format_of and prepare_document", "[pdf][ingest]") {
  CHECK(*format_of("Report.PDF") == DocFormat::kPdf);
  auto doc = prepare_document(fixture("korean.pdf"), DocFormat::kPdf, "stem");
  REQUIRE(doc.ok());
  CHECK(doc->title == "한빛반도체 회사 소개");
  CHECK(has(doc->text, "박서연"));
  // No Info dictionary: the first non-empty line is the title.
  auto untitled = prepare_document(fixture("no_title.pdf"), DocFormat::kPdf, "stem");
  REQUIRE(untitled.ok());
  CHECK(untitled->title == "Field notes");
  CHECK(has(untitled->text, "The beehive by the east gate holds nine frames."));
  auto locked = prepare_document(fixture("encrypted.pdf"), DocFormat::kPdf, "stem");
  REQUIRE_FALSE(locked.ok());
  CHECK(locked.error().kind == ErrorKind::kUnsupported);
}

TEST_CASE("pdf: a folder with PDFs is ingested; a bad PDF fails alone", "[pdf][ingest]") {
  test::TempDir dir;
  dir.write("ko.pdf", fixture("korean.pdf"));
  dir.write("two.pdf", fixture("two_pages.pdf"));
  dir.write("locked.pdf", fixture("encrypted.pdf"));
  dir.write("broken.pdf", fixture("corrupt.pdf"));
  auto store = Store::open("");
  REQUIRE(store.ok());
  std::vector<FileReport> reports;
  auto stats = ingest_paths(**store, {dir.path()}, {},
                            [&](const FileReport& r, size_t, size_t) { reports.push_back(r); });
  REQUIRE(stats.ok());
  CHECK(stats->added == 2);
  CHECK(stats->failed == 2);
  for (const FileReport& r : reports) {
    const std::string name = r.path.filename().string();
    INFO(name << ": " << r.message);
    if (name == "locked.pdf" || name == "broken.pdf")
      CHECK(r.kind == FileReport::Kind::kFailed);
    else
      CHECK(r.kind == FileReport::Kind::kStored);
  }
}
