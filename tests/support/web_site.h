// WebSite: a local web for tests and benchmarks, on 127.0.0.1 at an ephemeral port. One
// cpp-httplib server plays both sides of a web search:
//   - a SearXNG instance: GET /search?q=...&format=json answers in SearXNG's real wire format
//     (each result built from tests/fixtures/searxng/search_response.json's first result, so
//     every field the real API sends is there), listing the results the test set;
//   - the sites those results point to: pages with any status, content type, body and delay,
//     and redirects.
// Point SEARXNG_URL at base_url() and allow 127.0.0.1 in the fetcher (CHAJA_FETCH_ALLOW).
// Slow pages wake early when the server stops, so tests end fast. Thread-safe after setup:
// add pages and results before the first request, read hits() any time.
#pragma once

#include <httplib.h>
#include <iconv.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace chaja::test {

struct SitePage {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::chrono::milliseconds delay{0};  // before the response is sent
  std::string redirect;                // a Location (path or URL): a 302 with no body
};

struct SiteResult {
  std::string title;
  std::string path_or_url;  // a path on this site, or an absolute URL
  std::string snippet;
  std::string published;  // SearXNG's publishedDate, "" for null
};

// UTF-8 text in CP949 (EUC-KR's superset), as Korean sites still serve it.
inline std::string to_cp949(const std::string& utf8) {
  iconv_t cd = iconv_open("CP949", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) throw std::runtime_error("iconv: no CP949");
  std::string out(utf8.size() * 2 + 8, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t in_left = utf8.size();
  char* o = out.data();
  size_t out_left = out.size();
  const size_t rc = iconv(cd, &in, &in_left, &o, &out_left);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) throw std::runtime_error("iconv: not CP949 text");
  out.resize(out.size() - out_left);
  return out;
}

class WebSite {
 public:
  explicit WebSite(std::string fixtures_dir) : fixtures_(std::move(fixtures_dir)) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    server_.set_keep_alive_timeout(1);
    server_.set_tcp_nodelay(true);
    server_.set_socket_options([this](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listen_fd_ = sock;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("WebSite: cannot bind a loopback port");
    // httplib hard-codes a backlog of 5: a burst of parallel fetches would wait out SYN retries.
    ::listen(listen_fd_, 1024);
    server_.Get("/search", [this](const httplib::Request& req, httplib::Response& res) {
      ++searches;
      sleep_for(search_delay);
      last_query_ = req.get_param_value("q");
      res.set_content(search_json(), "application/json");
    });
    server_.Get(R"(/.*)",
                [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~WebSite() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  WebSite(const WebSite&) = delete;
  WebSite& operator=(const WebSite&) = delete;

  // A file of the fixtures folder (e.g. "web/lighthouse.html"), whole.
  std::string fixture(const std::string& path) const {
    std::ifstream in(fixtures_ + "/" + path, std::ios::binary);
    if (!in) throw std::runtime_error("WebSite: no fixture " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const { return base_url() + path; }

  void page(const std::string& path, SitePage p) {
    std::lock_guard<std::mutex> lock(mu_);
    pages_[path] = std::move(p);
  }
  void html(const std::string& path, const std::string& body,
            std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    SitePage p;
    p.body = body;
    p.delay = delay;
    page(path, std::move(p));
  }
  void redirect(const std::string& path, const std::string& location) {
    SitePage p;
    p.status = 302;
    p.redirect = location;
    page(path, std::move(p));
  }
  void results(std::vector<SiteResult> r) {
    std::lock_guard<std::mutex> lock(mu_);
    results_ = std::move(r);
  }
  int hits(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_[path];
  }
  std::string last_query() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_query_;
  }
  std::atomic<int> searches{0};
  // How long the search endpoint takes to answer (a real engine's latency); set before use.
  std::chrono::milliseconds search_delay{0};

 private:
  std::string search_json() {
    nlohmann::json recorded = nlohmann::json::parse(fixture("searxng/search_response.json"));
    const nlohmann::json model = recorded["results"].at(0);
    nlohmann::json out = recorded;
    out["results"] = nlohmann::json::array();
    std::lock_guard<std::mutex> lock(mu_);
    out["query"] = last_query_;
    for (size_t i = 0; i < results_.size(); ++i) {
      const SiteResult& r = results_[i];
      nlohmann::json j = model;
      const std::string u =
          r.path_or_url.starts_with("http") ? r.path_or_url : base_url() + r.path_or_url;
      j["url"] = u;
      j["title"] = r.title;
      j["content"] = r.snippet;
      j["parsed_url"] = nlohmann::json::array({"http", "127.0.0.1", r.path_or_url, "", "", ""});
      j["publishedDate"] =
          r.published.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.published);
      j["score"] = 10.0 - static_cast<double>(i);
      j["positions"] = nlohmann::json::array({i + 1});
      out["results"].push_back(j);
    }
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  // Sleeps, waking early when the server stops.
  void sleep_for(std::chrono::milliseconds delay) const {
    const auto until = std::chrono::steady_clock::now() + delay;
    while (!stopping_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    SitePage p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++hits_[req.path];
      auto it = pages_.find(req.path);
      if (it == pages_.end()) {
        res.status = 404;
        res.set_content("<html><body><h1>Not found</h1></body></html>", "text/html");
        return;
      }
      p = it->second;
    }
    sleep_for(p.delay);
    res.status = p.status;
    if (!p.redirect.empty()) {
      res.set_header("Location", p.redirect.starts_with("http") ? p.redirect : url(p.redirect));
      return;
    }
    res.set_content(p.body, p.content_type);
  }

  std::string fixtures_;
  httplib::Server server_;
  int port_ = 0;
  socket_t listen_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::map<std::string, SitePage> pages_;
  std::map<std::string, int> hits_;
  std::vector<SiteResult> results_;
  std::string last_query_;
};

}  // namespace chaja::test
