#include "index/ingest.h"

#include <set>

#include <catch2/catch.hpp>

#include "index/test_util.h"
#include "index/utf8.h"

using namespace chaja;

namespace {

struct Run {
  IngestStats stats;
  std::vector<FileReport> reports;
};

Run ingest(Store& store, const std::filesystem::path& root) {
  Run run;
  auto stats = ingest_paths(store, {root}, {},
                            [&](const FileReport& r, size_t, size_t) { run.reports.push_back(r); });
  REQUIRE(stats.ok());
  run.stats = *stats;
  return run;
}

const FileReport* report_for(const Run& run, const std::string& name) {
  for (const auto& r : run.reports)
    if (r.path.filename() == name) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("folders are ingested recursively; others are skipped with a warning", "[ingest]") {
  test::TempDir dir;
  dir.write("a.txt", "Plain text title\n\nThe first document says hello.");
  dir.write("sub/b.md", "# Markdown Title\n\nSecond document body.");
  dir.write("sub/deeper/c.html",
            "<html><head><title>HTML Title</title></head><body><p>Third.</p></body></html>");
  dir.write("d.pdfx", "not supported");
  dir.write(".hidden/e.txt", "hidden folders are skipped");
  auto store = Store::open("");
  REQUIRE(store.ok());
  const Run run = ingest(**store, dir.path());
  CHECK(run.stats.added == 3);
  CHECK(run.stats.skipped == 1);
  CHECK(run.stats.failed == 0);
  CHECK(run.stats.chunks == 3);
  CHECK(run.stats.bytes > 0);
  const FileReport* skipped = report_for(run, "d.pdfx");
  REQUIRE(skipped != nullptr);
  CHECK(skipped->kind == FileReport::Kind::kSkipped);
  CHECK(skipped->message.find("unsupported file type '.pdfx'") != std::string::npos);
  CHECK(report_for(run, "e.txt") == nullptr);

  auto docs = (*store)->list(kDefaultCollection, 10, 0);
  REQUIRE(docs.ok());
  std::set<std::string> titles;
  for (const auto& d : *docs) titles.insert(d.title);
  CHECK(titles == std::set<std::string>{"Plain text title", "Markdown Title", "HTML Title"});
}

TEST_CASE("re-ingesting: unchanged files are not rewritten, changed ones replaced", "[ingest]") {
  test::TempDir dir;
  const auto file = dir.write("note.txt", "Version one of the note.");
  auto store = Store::open("");
  REQUIRE(store.ok());
  CHECK(ingest(**store, dir.path()).stats.added == 1);
  CHECK(ingest(**store, dir.path()).stats.unchanged == 1);
  dir.write("note.txt", "Version two of the note, rewritten.");
  const Run third = ingest(**store, dir.path());
  CHECK(third.stats.replaced == 1);
  CHECK((*store)->stats()->documents == 1);
  auto hits = (*store)->search({"rewritten", 5, kDefaultCollection});
  REQUIRE(hits.ok());
  CHECK(hits->size() == 1);
}

TEST_CASE("invalid UTF-8: a few bad bytes are repaired, garbage is rejected by name", "[ingest]") {
  test::TempDir dir;
  std::string mostly_ok;
  for (int i = 0; i < 40; ++i) mostly_ok += "한국어로 쓴 정상 문장입니다. ";
  mostly_ok += "\xC3\x28 끝.";
  dir.write("repaired.txt", mostly_ok);
  std::string garbage;
  for (int i = 0; i < 3000; ++i) garbage.push_back(static_cast<char>(0x80 + (i * 7) % 0x40));
  dir.write("garbage.txt", garbage);
  dir.write("fine.txt", "A fine file after the broken one.");
  auto store = Store::open("");
  REQUIRE(store.ok());
  const Run run = ingest(**store, dir.path());
  CHECK(run.stats.added == 2);
  CHECK(run.stats.failed == 1);
  const FileReport* bad = report_for(run, "garbage.txt");
  REQUIRE(bad != nullptr);
  CHECK(bad->kind == FileReport::Kind::kFailed);
  CHECK(bad->message.find("not UTF-8") != std::string::npos);
  const FileReport* fixed = report_for(run, "repaired.txt");
  REQUIRE(fixed != nullptr);
  CHECK(fixed->kind == FileReport::Kind::kStored);
  CHECK(fixed->message.find("replaced 1 invalid") != std::string::npos);
  auto hits = (*store)->search({"문장", 10, kDefaultCollection});
  REQUIRE(hits.ok());
  REQUIRE_FALSE(hits->empty());
  for (const auto& h : *hits) CHECK(utf8::is_valid(h.text));
}

TEST_CASE("a missing path is reported and the run goes on", "[ingest]") {
  test::TempDir dir;
  dir.write("ok.md", "# OK\n\nFine.");
  auto store = Store::open("");
  REQUIRE(store.ok());
  std::vector<FileReport> reports;
  auto stats = ingest_paths(**store, {dir.path() / "missing", dir.path()}, {},
                            [&](const FileReport& r, size_t, size_t) { reports.push_back(r); });
  REQUIRE(stats.ok());
  CHECK(stats->failed == 1);
  CHECK(stats->added == 1);
}

TEST_CASE("format_of and prepare_document", "[ingest]") {
  CHECK(*format_of("A.MD") == DocFormat::kMarkdown);
  CHECK(*format_of("x.htm") == DocFormat::kHtml);
  CHECK(format_of("x").error().kind == ErrorKind::kUnsupported);
  auto txt = prepare_document("A sentence that ends.\nMore.", DocFormat::kText, "fallback");
  REQUIRE(txt.ok());
  CHECK(txt->title == "fallback");
}

TEST_CASE("files with no text are skipped, not stored", "[ingest]") {
  test::TempDir dir;
  dir.write("blank.txt", std::string(1000, '\n'));
  dir.write("empty.html", "<html><body><script>var x = 1;</script></body></html>");
  auto store = Store::open("");
  REQUIRE(store.ok());
  const Run run = ingest(**store, dir.path());
  CHECK(run.stats.skipped == 2);
  CHECK(run.stats.added == 0);
  CHECK((*store)->stats()->documents == 0);
}
