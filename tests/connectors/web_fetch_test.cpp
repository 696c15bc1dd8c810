#include "connectors/web_fetch.h"

#include <httplib.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "index/charset.h"
#include "tests/support/web_site.h"

using namespace chaja;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// cpp-httplib on an ephemeral loopback port; slow handlers return early once it shuts down.
class Site {
 public:
  Site() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(12); };
    server_.set_keep_alive_timeout(1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    routes();
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~Site() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  Site(const Site&) = delete;
  Site& operator=(const Site&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::atomic<int> robots_hits{0};
  std::atomic<int> secret_hits{0};

 private:
  void routes() {
    server_.Get("/robots.txt", [this](const httplib::Request&, httplib::Response& res) {
      ++robots_hits;
      res.set_content("User-agent: *\nDisallow: /private\n", "text/plain");
    });
    server_.Get("/private/page", [this](const httplib::Request&, httplib::Response& res) {
      ++secret_hits;
      res.set_content("<p>secret</p>", "text/html");
    });
    server_.Get("/utf8", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("<html><body><p>안녕하세요 UA=" + req.get_header_value("User-Agent") +
                          "</p></body></html>",
                      "text/html; charset=utf-8");
    });
    const std::string korean = "<p>한국어 뉴스 기사</p>";
    auto euc = test::to_cp949(korean);
    server_.Get("/euckr-header", [euc](const httplib::Request&, httplib::Response& res) {
      res.set_content(euc, "text/html; charset=EUC-KR");
    });
    server_.Get("/euckr-meta", [euc](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "<html><head><meta http-equiv=\"Content-Type\" "
          "content=\"text/html; charset=euc-kr\"></head><body>" +
              euc + "</body></html>",
          "text/html");
    });
    server_.Get("/plain", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("just text", "text/plain");
    });
    server_.Get(R"(/hop/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      const int n = std::stoi(req.matches[1]);
      if (n == 0)
        res.set_content("<p>end of chain</p>", "text/html");
      else
        res.set_redirect(url("/hop/" + std::to_string(n - 1)));
    });
    server_.Get("/relative", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/plain");
    });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      const auto until = Clock::now() + 5s;
      while (!stopping_ && Clock::now() < until) std::this_thread::sleep_for(5ms);
      res.set_content("late", "text/html");
    });
    server_.Get("/huge", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(300'000, 'x'), "text/plain");
    });
    server_.Get("/binary", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string("%PDF-1.4\0\1\2", 11), "application/pdf");
    });
    server_.Get("/to-private", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://10.0.0.1/");
    });
    server_.Get("/to-metadata", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://169.254.169.254/latest/meta-data/");
    });
    server_.Get("/to-ftp", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("ftp://127.0.0.1/file");
    });
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

FetchOptions test_options() {
  FetchOptions options;
  options.allow = *FetchAllowList::parse("127.0.0.1");
  options.use_env_allow = false;
  options.page_timeout = 2s;
  options.total_timeout = 5s;
  return options;
}

}  // namespace

TEST_CASE("web_fetch: UTF-8 and EUC-KR pages come out as UTF-8", "[web_fetch]") {
  Site site;
  const auto results = fetch_pages(
      {site.url("/utf8"), site.url("/euckr-header"), site.url("/euckr-meta"), site.url("/plain")},
      test_options());
  REQUIRE(results.size() == 4);
  for (const auto& r : results) {
    INFO(r.url << " " << r.error.error().message);
    CHECK(r.ok());
    CHECK(r.status == 200);
  }
  CHECK(results[0].body.find("안녕하세요") != std::string::npos);
  CHECK(results[0].body.find("Chaja/") != std::string::npos);  // the User-Agent
  CHECK(results[0].charset == "utf-8");
  CHECK(results[0].content_type == "text/html");
  CHECK(results[1].body == "<p>한국어 뉴스 기사</p>");
  CHECK(results[1].charset == "cp949");
  CHECK(results[2].body.find("한국어 뉴스 기사") != std::string::npos);
  CHECK(results[2].charset == "cp949");
  CHECK(results[3].body == "just text");
  CHECK(results[3].content_type == "text/plain");
  CHECK(site.robots_hits == 1);  // once per origin per call
}

TEST_CASE("web_fetch: a robots cache reads robots.txt once across calls", "[web_fetch]") {
  Site site;
  auto options = test_options();
  (void)fetch_pages({site.url("/plain")}, options);
  (void)fetch_pages({site.url("/plain")}, options);
  CHECK(site.robots_hits == 2);  // without a cache: once per call

  options.robots_cache = std::make_shared<RobotsCache>();
  (void)fetch_pages({site.url("/plain")}, options);
  const auto second = fetch_pages({site.url("/plain"), site.url("/private/page")}, options);
  CHECK(site.robots_hits == 3);
  CHECK(second[0].ok());
  // The cached rules still apply.
  REQUIRE_FALSE(second[1].ok());
  CHECK(second[1].error.error().kind == ErrorKind::kForbidden);
  CHECK(site.secret_hits == 0);

  // Expired entries are read again.
  options.robots_cache = std::make_shared<RobotsCache>(std::chrono::seconds(0));
  (void)fetch_pages({site.url("/plain")}, options);
  std::this_thread::sleep_for(5ms);
  (void)fetch_pages({site.url("/plain")}, options);
  CHECK(site.robots_hits == 5);

  // At most max_origins entries.
  RobotsCache small(std::chrono::hours(1), 2);
  small.put("http://a:80", "A");
  small.put("http://b:80", "B");
  small.put("http://c:80", "C");
  CHECK(small.get("http://c:80") == "C");
  CHECK((small.get("http://a:80").has_value() + small.get("http://b:80").has_value()) == 1);
}

TEST_CASE("web_fetch: hosts are resolved in parallel, a hung lookup costs only its page",
          "[web_fetch]") {
  Site site;
  auto options = test_options();
  options.respect_robots = false;
  options.page_timeout = 700ms;
  std::atomic<int> lookups{0};
  // Every name is 127.0.0.1 after 300 ms; "hang.test" takes 3 s.
  options.resolver = [&](const std::string& host,
                         const std::string&) -> Result<std::vector<std::string>> {
    ++lookups;
    std::this_thread::sleep_for(host == "hang.test" ? 3000ms : 300ms);
    if (host == "nx.test") return make_error(ErrorKind::kUnavailable, "cannot resolve nx.test");
    return std::vector<std::string>{"127.0.0.1"};
  };
  const std::string port = site.url("/").substr(std::string("http://127.0.0.1:").size());
  auto at = [&](const std::string& host) {
    return "http://" + host + ":" + port.substr(0, port.size() - 1) + "/plain";
  };
  std::vector<std::string> urls;
  for (int i = 0; i < 5; ++i) urls.push_back(at("h" + std::to_string(i) + ".test"));
  urls.push_back(at("h0.test"));  // one lookup per host
  urls.push_back(at("hang.test"));
  urls.push_back(at("nx.test"));
  const auto t0 = Clock::now();
  const auto results = fetch_pages(urls, options);
  const auto took = Clock::now() - t0;
  CHECK(took < 1200ms);  // one after another, the five lookups alone would take 1.5 s
  CHECK(lookups == 7);
  for (size_t i = 0; i < 6; ++i) {
    INFO(urls[i] << " " << (results[i].ok() ? "" : results[i].error.error().message));
    CHECK(results[i].ok());
    CHECK(results[i].body == "just text");
  }
  REQUIRE_FALSE(results[6].ok());
  CHECK(results[6].error.error().kind == ErrorKind::kTimeout);
  CHECK(results[6].error.error().message.find("resolving hang.test") != std::string::npos);
  REQUIRE_FALSE(results[7].ok());
  CHECK(results[7].error.error().kind == ErrorKind::kUnavailable);

  // The SSRF guard still applies to what a resolver returns.
  options.allow = FetchAllowList{};
  const auto refused = fetch_pages({at("h0.test")}, options);
  REQUIRE_FALSE(refused[0].ok());
  CHECK(refused[0].error.error().kind == ErrorKind::kForbidden);
}

TEST_CASE("web_fetch: redirect chains within and over the cap", "[web_fetch]") {
  Site site;
  auto options = test_options();
  options.max_redirects = 3;
  const auto results =
      fetch_pages({site.url("/hop/3"), site.url("/hop/4"), site.url("/relative")}, options);
  CHECK(results[0].ok());
  CHECK(results[0].body == "<p>end of chain</p>");
  CHECK(results[0].final_url == site.url("/hop/0"));
  REQUIRE_FALSE(results[1].ok());
  CHECK(results[1].error.error().message.find("redirects") != std::string::npos);
  CHECK(results[2].ok());
  CHECK(results[2].final_url == site.url("/plain"));
}

TEST_CASE("web_fetch: a slow page times out, the others come back", "[web_fetch]") {
  Site site;
  auto options = test_options();
  options.page_timeout = 300ms;
  const auto start = Clock::now();
  const auto results =
      fetch_pages({site.url("/slow"), site.url("/utf8"), site.url("/plain")}, options);
  const auto took = Clock::now() - start;
  CHECK(took < 2s);
  REQUIRE_FALSE(results[0].ok());
  CHECK(results[0].error.error().kind == ErrorKind::kTimeout);
  CHECK(results[1].ok());
  CHECK(results[2].ok());

  options.page_timeout = 5s;
  options.total_timeout = 300ms;
  const auto start2 = Clock::now();
  const auto results2 = fetch_pages({site.url("/slow"), site.url("/plain")}, options);
  CHECK(Clock::now() - start2 < 2s);
  CHECK(results2[0].error.error().kind == ErrorKind::kTimeout);
  CHECK(results2[1].ok());
}

TEST_CASE("web_fetch: byte cap, binary refused, 404 reported", "[web_fetch]") {
  Site site;
  auto options = test_options();
  options.max_bytes = 100'000;
  const auto results =
      fetch_pages({site.url("/huge"), site.url("/binary"), site.url("/missing")}, options);
  REQUIRE_FALSE(results[0].ok());
  CHECK(results[0].error.error().kind == ErrorKind::kTooLarge);
  REQUIRE_FALSE(results[1].ok());
  CHECK(results[1].error.error().kind == ErrorKind::kUnsupported);
  CHECK(results[1].content_type == "application/pdf");
  REQUIRE_FALSE(results[2].ok());
  CHECK(results[2].status == 404);
  CHECK(results[2].error.error().kind == ErrorKind::kNotFound);
}

TEST_CASE("web_fetch: SSRF guard", "[web_fetch]") {
  Site site;
  auto options = test_options();
  options.page_timeout = 1s;
  const auto results = fetch_pages(
      {site.url("/to-private"), site.url("/to-metadata"), site.url("/to-ftp"), "ftp://127.0.0.1/x",
       "file:///etc/passwd", "http://[::ffff:169.254.169.254]/", "http://0.0.0.0:1/"},
      options);
  for (size_t i : {0, 1}) {
    REQUIRE_FALSE(results[i].ok());
    CHECK(results[i].error.error().kind == ErrorKind::kForbidden);
    CHECK(results[i].status == 0);  // the last hop never connected
  }
  CHECK(results[1].final_url == "http://169.254.169.254/latest/meta-data/");
  for (size_t i : {2, 3, 4}) {
    REQUIRE_FALSE(results[i].ok());
    CHECK(results[i].error.error().kind == ErrorKind::kInvalidInput);
  }
  CHECK(results[5].error.error().kind == ErrorKind::kForbidden);
  CHECK(results[6].error.error().kind == ErrorKind::kForbidden);

  // Loopback without the allow-list: refused.
  auto closed = options;
  closed.allow = FetchAllowList{};
  const int robots_before = site.robots_hits;
  const auto refused = fetch_pages({site.url("/utf8"), "http://localhost:1/"}, closed);
  CHECK(refused[0].error.error().kind == ErrorKind::kForbidden);
  CHECK(refused[1].error.error().kind == ErrorKind::kForbidden);
  CHECK(site.robots_hits == robots_before);  // not even robots.txt was fetched
}

TEST_CASE("web_fetch: robots.txt honoured unless switched off", "[web_fetch]") {
  Site site;
  auto options = test_options();
  auto results = fetch_pages({site.url("/private/page")}, options);
  CHECK(results[0].error.error().kind == ErrorKind::kForbidden);
  CHECK(site.secret_hits == 0);
  options.respect_robots = false;
  results = fetch_pages({site.url("/private/page")}, options);
  CHECK(results[0].ok());
  CHECK(site.secret_hits == 1);
}

TEST_CASE("web_fetch: robots rules", "[web_fetch]") {
  const std::string txt =
      "User-agent: Googlebot\nDisallow: /\n\nUser-agent: *\nDisallow: /a\nAllow: /a/ok\n";
  CHECK(robots_allows(txt, "chaja", "/b"));
  CHECK_FALSE(robots_allows(txt, "chaja", "/a/x"));
  CHECK(robots_allows(txt, "chaja", "/a/ok/1"));
  const std::string mine = "User-agent: *\nDisallow: /\n\nUser-agent: Chaja\nDisallow: /x\n";
  CHECK(robots_allows(mine, "chaja", "/y"));
  CHECK_FALSE(robots_allows(mine, "chaja", "/x1"));
  CHECK(robots_allows("User-agent: *\nDisallow:\n", "chaja", "/"));
  CHECK(robots_allows("", "chaja", "/"));
}

TEST_CASE("web_fetch: address classes and allow-list parsing", "[web_fetch]") {
  for (const char* a : {"127.0.0.1",
                        "10.1.2.3",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "0.0.0.0",
                        "224.0.0.1",
                        "::1",
                        "::",
                        "fc00::1",
                        "fd12::1",
                        "fe80::1",
                        "ff02::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1",
                        "::ffff:169.254.169.254",
                        "64:ff9b::a00:1",
                        "nonsense"})
    CHECK(is_restricted_address(a));
  for (const char* a : {"8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:4860::8888", "::ffff:8.8.8.8",
                        "93.184.216.34"})
    CHECK_FALSE(is_restricted_address(a));

  auto list = FetchAllowList::parse(" 127.0.0.1, 10.0.0.0/8 ,Intranet.Example, fd00::/8,,::1");
  REQUIRE(list.ok());
  CHECK(list->allows_address("127.0.0.1"));
  CHECK_FALSE(list->allows_address("127.0.0.2"));
  CHECK(list->allows_address("10.200.3.4"));
  CHECK(list->allows_address("::ffff:10.200.3.4"));
  CHECK_FALSE(list->allows_address("11.0.0.1"));
  CHECK(list->allows_address("fd00::5"));
  CHECK_FALSE(list->allows_address("fc00::5"));
  CHECK(list->allows_address("::1"));
  CHECK(list->allows_host("intranet.example"));
  CHECK(list->allows_host("INTRANET.example."));
  CHECK_FALSE(list->allows_host("example"));
  CHECK_FALSE(FetchAllowList::parse("10.0.0.0/33").ok());
  CHECK_FALSE(FetchAllowList::parse("10.0.0.0/x").ok());
  CHECK_FALSE(FetchAllowList::parse("host/8").ok());
  CHECK(FetchAllowList::parse("").ok());
  CHECK(FetchAllowList::parse("")->empty());
}
