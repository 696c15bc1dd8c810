// End to end, keys and tenants: the real `chaja serve` with keys made by `chaja keys create`.
// A key for collection `docs` never sees collection `hr`: not its documents, passages,
// citations, threads, nor even that it exists (its errors read as an unknown name's). Also:
// roles, CORS per origin (configured and per key), and a key revoked while serving.
#include <catch2/catch.hpp>

#include <set>

#include "../support/chaja_process.h"

namespace {

using namespace chaja::test;

constexpr const char* kSecret = "ZEBRA-7781";

struct Tenants {
  TempDir data;
  std::string d = "--data '" + data.path().string() + "'";
  std::string reader, writer, admin, other_reader;

  Tenants() {
    const std::string sample = std::string(CHAJA_SOURCE_DIR) + "/docs/sample";
    REQUIRE(run("", "index '" + sample + "' --collection docs " + d).exit_code == 0);
    {
      std::ofstream f(data / "payroll.txt");
      f << "Payroll access\n\nThe payroll vault code is " << kSecret
        << ". Only the HR department may open the payroll vault.\n";
    }
    REQUIRE(run("", "index '" + (data / "payroll.txt") + "' --collection hr " + d).exit_code == 0);
    reader = key("--role reader --collections docs --origins http://intranet.test");
    writer = key("--role writer --collections docs");
    admin = key("--role admin");
    other_reader = key("--role reader --collections docs");
  }

  std::string key(const std::string& args) {
    const Run r = run("", "keys create --json " + args + " " + d);
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    const json j = json::parse(r.out);
    return j["key"].get<std::string>();
  }
};

httplib::Headers bearer(const std::string& key, const std::string& origin = "") {
  httplib::Headers h{{"Authorization", "Bearer " + key}};
  if (!origin.empty()) h.emplace("Origin", origin);
  return h;
}

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  json j = json::parse(r->body, nullptr, false);
  REQUIRE(!j.is_discarded());
  return j;
}

std::string error_message(const httplib::Result& r) {
  return body_of(r)["error"]["message"].get<std::string>();
}

}  // namespace

TEST_CASE("e2e keys: once a key exists every request but /healthz and the UI needs one",
          "[e2e][keys]") {
  Tenants t;
  Serve server({}, t.data.path().string());
  auto c = server.client();
  CHECK(c.Get("/healthz")->status == 200);
  CHECK(c.Get("/")->status == 200);
  CHECK(c.Get("/app.js")->status == 200);
  for (const char* path : {"/v1/models", "/v1/collections", "/v1/documents?collection=docs"}) {
    auto r = c.Get(path);
    INFO(path);
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->get_header_value("WWW-Authenticate") == "Bearer");
  }
  auto r = c.Post("/v1/ask", R"({"query":"payroll vault code"})", "application/json");
  CHECK(r->status == 401);
  CHECK(body_of(r)["error"]["type"] == "unauthorized");
  r = c.Post("/v1/search", bearer("chaja_00000000_" + std::string(40, '0')),
             R"({"query":"payroll"})", "application/json");
  CHECK(r->status == 401);
  r = c.Post("/v1/chat/completions", R"({"model":"chaja","messages":[]})", "application/json");
  CHECK(r->status == 401);
  CHECK(body_of(r)["error"]["type"] == "authentication_error");  // OpenAI's shape
}

TEST_CASE("e2e keys: a key for collection A never sees collection B", "[e2e][keys]") {
  Tenants t;
  Serve server({}, t.data.path().string());
  auto c = server.client();
  const auto reader = bearer(t.reader);
  const auto admin = bearer(t.admin);

  // The admin sees both; find the hr document's id.
  auto listed = body_of(c.Get("/v1/collections", admin));
  std::set<std::string> names;
  for (const json& col : listed["collections"]) names.insert(col["name"].get<std::string>());
  CHECK(names.count("docs") == 1);
  CHECK(names.count("hr") == 1);
  auto hr_docs = body_of(c.Get("/v1/documents?collection=hr", admin));
  REQUIRE(hr_docs["documents"].size() == 1);
  const int64_t hr_id = hr_docs["documents"][0]["id"].get<int64_t>();

  // Collections: only its own.
  listed = body_of(c.Get("/v1/collections", reader));
  REQUIRE(listed["collections"].size() == 1);
  CHECK(listed["collections"][0]["name"] == "docs");

  // A named foreign collection reads exactly as one that does not exist.
  for (const char* path : {"/v1/search", "/v1/ask"}) {
    INFO(path);
    auto foreign = c.Post(path, reader, R"({"query":"payroll vault code","collection":"hr"})",
                          "application/json");
    auto missing = c.Post(path, reader, R"({"query":"payroll vault code","collection":"nosuch"})",
                          "application/json");
    REQUIRE(foreign->status == 404);
    REQUIRE(missing->status == 404);
    std::string a = error_message(foreign), b = error_message(missing);
    CHECK(a.replace(a.find("hr"), 2, "nosuch") == b);
    CHECK(!has(foreign->body, kSecret));
  }
  auto chat = c.Post(
      "/v1/chat/completions", reader,
      R"({"model":"chaja","collection":"hr","messages":[{"role":"user","content":"payroll vault code"}]})",
      "application/json");
  CHECK(chat->status == 404);
  CHECK(!has(chat->body, kSecret));

  // Without a collection the key's own is used: the answer comes from docs, never hr.
  auto search =
      c.Post("/v1/search", reader, R"({"query":"payroll vault code ZEBRA"})", "application/json");
  REQUIRE(search->status == 200);
  CHECK(!has(search->body, kSecret));
  CHECK(!has(search->body, "payroll.txt"));
  auto ask =
      c.Post("/v1/ask", reader, R"({"query":"What is the payroll vault code?","stream":true})",
             "application/json");
  REQUIRE(ask->status == 200);
  CHECK(!has(ask->body, kSecret));
  CHECK(!has(ask->body, "payroll.txt"));
  // The admin, asking hr, does get it: the test would catch a secret that is simply unfindable.
  auto admin_ask =
      c.Post("/v1/ask", admin, R"({"query":"What is the payroll vault code?","collection":"hr"})",
             "application/json");
  REQUIRE(admin_ask->status == 200);
  CHECK(has(admin_ask->body, kSecret));

  // Documents: listing, reading, deleting another collection's reads as unknown.
  auto list = c.Get("/v1/documents?collection=hr", reader);
  CHECK(list->status == 404);
  auto doc = c.Get("/v1/documents/" + std::to_string(hr_id), reader);
  auto nodoc = c.Get("/v1/documents/99999999", reader);
  REQUIRE(doc->status == 404);
  CHECK(error_message(doc) == "no document with id " + std::to_string(hr_id));
  CHECK(error_message(nodoc) == "no document with id 99999999");
  CHECK(c.Delete("/v1/documents/" + std::to_string(hr_id), bearer(t.writer))->status == 404);
  CHECK(c.Get("/v1/documents/" + std::to_string(hr_id), admin)->status == 200);  // still there

  // Threads belong to the key that started them.
  const json admin_turn = body_of(admin_ask);
  const std::string thread = admin_turn["thread_id"].get<std::string>();
  auto foreign_thread = c.Get("/v1/threads/" + thread, reader);
  REQUIRE(foreign_thread->status == 404);
  CHECK(error_message(foreign_thread) == "thread " + thread + " not found");
  CHECK(c.Delete("/v1/threads/" + thread, reader)->status == 404);
  auto cont =
      c.Post("/v1/ask", reader, R"({"query":"and the code again?","thread_id":")" + thread + "\"}",
             "application/json");
  CHECK(cont->status == 404);
  CHECK(!has(cont->body, kSecret));
  CHECK(c.Get("/v1/threads/" + thread, admin)->status == 200);

  // Another reader of the same collection does not see this reader's threads either.
  const json own =
      body_of(c.Post("/v1/ask", reader, R"({"query":"Greywick lighthouse"})", "application/json"));
  const std::string own_thread = own["thread_id"].get<std::string>();
  CHECK(c.Get("/v1/threads/" + own_thread, reader)->status == 200);
  CHECK(c.Get("/v1/threads/" + own_thread, bearer(t.other_reader))->status == 404);
}

TEST_CASE("e2e keys: roles", "[e2e][keys]") {
  Tenants t;
  Serve server({}, t.data.path().string());
  auto c = server.client();
  const std::string doc =
      R"({"title":"Note","text":"The canteen opens at eight.","collection":"docs"})";
  auto r = c.Post("/v1/documents", bearer(t.reader), doc, "application/json");
  CHECK(r->status == 403);
  r = c.Post("/v1/documents", bearer(t.writer), doc, "application/json");
  CHECK(r->status == 201);
  const int64_t id = body_of(r)["id"].get<int64_t>();
  r = c.Post("/v1/documents", bearer(t.writer), R"({"title":"Note","text":"x","collection":"hr"})",
             "application/json");
  CHECK(r->status == 404);
  CHECK(c.Delete("/v1/documents/" + std::to_string(id), bearer(t.reader))->status == 403);
  CHECK(c.Delete("/v1/documents/" + std::to_string(id), bearer(t.writer))->status == 200);
}

TEST_CASE("e2e keys: CORS per origin, and a key revoked while serving", "[e2e][keys][cors]") {
  Tenants t;
  Serve server({"CHAJA_CORS_ORIGINS=http://portal.test"}, t.data.path().string());
  auto c = server.client();
  auto preflight = [&](const std::string& origin) {
    return c.Options(
        "/v1/ask", httplib::Headers{{"Origin", origin}, {"Access-Control-Request-Method", "POST"}});
  };
  // The reader key names http://intranet.test; the server's config names http://portal.test.
  for (const char* origin : {"http://intranet.test", "http://portal.test"}) {
    INFO(origin);
    auto r = preflight(origin);
    REQUIRE(r);
    CHECK(r->status == 204);
    CHECK(r->get_header_value("Access-Control-Allow-Origin") == origin);
    CHECK(has(r->get_header_value("Access-Control-Allow-Headers"), "Authorization"));
  }
  auto evil = preflight("http://evil.test");
  CHECK(evil->status == 403);
  CHECK(!evil->has_header("Access-Control-Allow-Origin"));

  const std::string q = R"({"query":"Greywick lighthouse"})";
  auto ok = c.Post("/v1/ask", bearer(t.reader, "http://intranet.test"), q, "application/json");
  CHECK(ok->status == 200);
  CHECK(ok->get_header_value("Access-Control-Allow-Origin") == "http://intranet.test");
  // The same key from a page of another origin is refused.
  auto refused = c.Post("/v1/ask", bearer(t.reader, "http://evil.test"), q, "application/json");
  CHECK(refused->status == 403);
  CHECK(!refused->has_header("Access-Control-Allow-Origin"));
  // A key naming no origin works from the configured origin only.
  CHECK(
      c.Post("/v1/ask", bearer(t.writer, "http://intranet.test"), q, "application/json")->status ==
      403);
  CHECK(c.Post("/v1/ask", bearer(t.writer, "http://portal.test"), q, "application/json")->status ==
        200);

  // Revoked by the CLI while the server runs: refused on the next request.
  const Run list = run("", "keys list --json " + t.d);
  REQUIRE(list.exit_code == 0);
  std::string reader_id;
  for (const json& k : json::parse(list.out))
    if (k["role"] == "reader" && !k["origins"].empty()) reader_id = k["id"];
  REQUIRE(!reader_id.empty());
  REQUIRE(run("", "keys revoke " + reader_id + " " + t.d).exit_code == 0);
  CHECK(c.Post("/v1/ask", bearer(t.reader), q, "application/json")->status == 401);
}

TEST_CASE("e2e keys: an open server, and binding beyond loopback", "[e2e][keys]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  // No key: open, loopback only unless --open.
  Run r = run("", "serve --host 0.0.0.0 --port 1 " + d);
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "--open"));
  // With a key, it serves beyond loopback (stopped after a second by `timeout`).
  REQUIRE(run("", "keys create --role admin " + d).exit_code == 0);
  r = run("timeout 1", "serve --host 0.0.0.0 --port 0 " + d);
  INFO(describe(r));
  CHECK(has(r.out, "serving http://0.0.0.0:"));
}

TEST_CASE("e2e keys: a key's request rate, then 429 with Retry-After", "[e2e][keys][limits]") {
  Tenants t;
  const std::string limited = t.key("--role reader --collections docs --rate 3");
  Serve server({}, t.data.path().string());
  auto c = server.client();
  const std::string q = R"({"query":"Greywick lighthouse","k":1})";
  for (int i = 0; i < 3; ++i)
    CHECK(c.Post("/v1/search", bearer(limited), q, "application/json")->status == 200);
  auto over = c.Post("/v1/search", bearer(limited), q, "application/json");
  REQUIRE(over);
  CHECK(over->status == 429);
  CHECK(body_of(over)["error"]["type"] == "rate_limited");
  const int wait = std::stoi(over->get_header_value("Retry-After"));
  CHECK(wait >= 1);
  CHECK(wait <= 20);
  // Another key (no limit) is not held up.
  CHECK(c.Post("/v1/search", bearer(t.reader), q, "application/json")->status == 200);
}
