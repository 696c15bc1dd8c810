// `chaja backup DIR` as a user runs it: while `chaja serve` holds the data folder open.
#include <string>

#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

using namespace chaja::test;

TEST_CASE("cli: backup while serving; the copy is searchable", "[server][backup]") {
  TempDir tmp;
  const std::string data = tmp / "data";
  const std::string d = "--data '" + data + "'";
  const std::string sample = std::string(CHAJA_SOURCE_DIR) + "/docs/sample";
  REQUIRE(run("", "index '" + sample + "' " + d).exit_code == 0);

  Serve server({}, data);
  auto c = server.client();
  // A search first: the server builds and saves the collection's vectors beside the index.
  auto warm = c.Post("/v1/search", R"({"query":"lighthouse"})", "application/json");
  REQUIRE(warm);
  REQUIRE(warm->status == 200);
  auto posted = c.Post("/v1/documents",
                       R"({"title":"Backup note","text":"The quokkanaut archive is kept in vault )"
                       R"(nine, beside the old tide tables."})",
                       "application/json");
  REQUIRE(posted);
  INFO(posted->body);
  REQUIRE(posted->status == 201);

  const std::string copy = tmp / "copy";
  const Run backup = run("", "backup '" + copy + "' " + d);
  INFO(describe(backup));
  REQUIRE(backup.exit_code == 0);
  CHECK(has(backup.out, "backed up"));
  CHECK(has(backup.out, "chaja.db"));
  CHECK(has(backup.out, " s: "));

  // The copy stands on its own: search it after the server has gone.
  const Run found = run("", "search quokkanaut --data '" + copy + "'");
  INFO(describe(found));
  REQUIRE(found.exit_code == 0);
  CHECK(has(found.out, "Backup note"));
  const Run sample_found = run("", "search lighthouse --data '" + copy + "'");
  CHECK(sample_found.exit_code == 0);
  CHECK_FALSE(has(sample_found.out, "no results"));

  // Into a folder that is not empty (the backup just made): refused, exit 2, nothing touched.
  const Run again = run("", "backup '" + copy + "' " + d);
  INFO(describe(again));
  CHECK(again.exit_code == 2);
  CHECK(has(again.err, "not empty"));
  CHECK(run("", "search quokkanaut --data '" + copy + "'").exit_code == 0);

  const Run no_target = run("", "backup " + d);
  CHECK(no_target.exit_code == 2);
}
