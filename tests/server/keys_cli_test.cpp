// `chaja keys create|list|revoke` as a user runs it: the real binary, its output and exit codes.
#include <string>

#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

using namespace chaja::test;

TEST_CASE("cli: keys create, list, revoke", "[server][keys]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";

  // Plain: the secret alone on stdout, the warning on stderr.
  const Run plain = run("", "keys create --role reader --collections docs,hr " + d);
  INFO(describe(plain));
  REQUIRE(plain.exit_code == 0);
  const std::string secret = plain.out.substr(0, plain.out.find('\n'));
  CHECK(secret.rfind("chaja_", 0) == 0);
  CHECK(secret.size() == 55);
  CHECK(plain.out == secret + "\n");
  CHECK(has(plain.err, "not be shown again"));
  CHECK_FALSE(has(plain.err, secret));
  CHECK(fs::exists(data.path() / "keys.db"));

  // --json, with origins, rate and a name; an admin key needs no --collections.
  const Run made = run("",
                       "keys create --role admin --origins https://Intranet.Example.com "
                       "--rate 60 --name 'ops laptop' --json " +
                           d);
  INFO(describe(made));
  REQUIRE(made.exit_code == 0);
  const json j = json::parse(made.out);
  const std::string admin_secret = j.at("key").get<std::string>();
  const std::string admin_id = j.at("id").get<std::string>();
  CHECK(admin_secret.rfind("chaja_" + admin_id.substr(2) + "_", 0) == 0);
  CHECK(j.at("role") == "admin");
  CHECK(j.at("collections") == json::array({"*"}));
  CHECK(j.at("origins") == json::array({"https://intranet.example.com"}));
  CHECK(j.at("rate_per_minute") == 60);

  // list: both keys, never a secret.
  const Run table = run("", "keys list " + d);
  INFO(describe(table));
  REQUIRE(table.exit_code == 0);
  CHECK(has(table.out, admin_id));
  CHECK(has(table.out, "docs,hr"));
  CHECK(has(table.out, "https://intranet.example.com"));
  CHECK(has(table.out, "ops laptop"));
  CHECK_FALSE(has(table.out, secret.substr(15)));
  CHECK_FALSE(has(table.out, admin_secret.substr(15)));

  const Run listed = run("", "keys list --json " + d);
  REQUIRE(listed.exit_code == 0);
  const json keys = json::parse(listed.out);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].at("role") == "reader");
  CHECK(keys[0].at("collections") == json::array({"docs", "hr"}));
  CHECK(keys[1].at("id") == admin_id);
  CHECK(keys[1].at("revoked") == false);
  CHECK_FALSE(keys[0].contains("key"));
  CHECK_FALSE(has(listed.out, secret.substr(15)));
  CHECK_FALSE(has(listed.out, admin_secret.substr(15)));

  // revoke: says what it revoked; list shows it revoked.
  const Run revoked = run("", "keys revoke " + admin_id + " " + d);
  INFO(describe(revoked));
  REQUIRE(revoked.exit_code == 0);
  CHECK(has(revoked.out, admin_id));
  const json after = json::parse(run("", "keys list --json " + d).out);
  CHECK(after[1].at("revoked") == true);
  CHECK(after[0].at("revoked") == false);

  // An unknown id: exit 1, with the id named.
  const Run unknown = run("", "keys revoke k_00000000 " + d);
  INFO(describe(unknown));
  CHECK(unknown.exit_code == 1);
  CHECK(has(unknown.err, "k_00000000"));
}

TEST_CASE("cli: keys usage errors exit 2", "[server][keys]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  for (const std::string args :
       {"keys create --role root --collections docs", "keys create --collections docs",
        "keys create --role reader", "keys create --role writer --collections 'bad name'",
        "keys create --role reader --collections docs --origins ftp://x.com",
        "keys create --role reader --collections docs --rate fast",
        "keys create --role reader --collections docs --rate -1", "keys", "keys rotate",
        "keys revoke", "keys list extra"}) {
    const Run r = run("", args + " " + d);
    INFO(args << "\n" << describe(r));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
  }
  // Nothing was created by any of them.
  const Run listed = run("", "keys list --json " + d);
  REQUIRE(listed.exit_code == 0);
  CHECK(json::parse(listed.out).empty());
}
