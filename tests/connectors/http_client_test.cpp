#include "connectors/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "connectors/sse.h"

using namespace chaja;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// cpp-httplib on an ephemeral loopback port, in its own thread. Handlers that stall call nap(),
// which returns early once the server is shutting down, so tests end fast.
class LocalServer {
 public:
  LocalServer() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(12); };
    server_.set_keep_alive_timeout(1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~LocalServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  httplib::Server& server() { return server_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void nap(std::chrono::milliseconds ms) const {
    const auto until = Clock::now() + ms;
    while (!stopping_ && Clock::now() < until) std::this_thread::sleep_for(5ms);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

// A server with the routes every test below uses.
class TestServer : public LocalServer {
 public:
  TestServer() {
    auto& s = server();
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Retry-After", "7");
      res.set_header("X-Multi", "a");
      res.set_header("X-Multi", "b");
      res.set_header("X-Seen-Test", req.get_header_value("X-Test"));
      res.set_header("X-Seen-Agent", req.get_header_value("User-Agent"));
      res.set_header("X-Seen-Type", req.get_header_value("Content-Type"));
      res.set_content(req.method + " " + req.body, "text/plain");
    };
    s.Get("/echo", echo);
    s.Post("/echo", echo);
    s.Put("/echo", echo);
    s.Delete("/echo", echo);
    s.Get("/port", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::to_string(req.remote_port), "text/plain");
    });
    s.Get("/status429", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      res.set_header("retry-after", "12");
      res.set_content(R"({"error":{"type":"rate_limit_exceeded"}})", "application/json");
    });
    // n SSE events, `gap` ms apart.
    s.Get("/sse", [this](const httplib::Request& req, httplib::Response& res) {
      const int n = std::stoi(req.get_param_value("n"));
      const int gap = std::stoi(req.get_param_value("gap"));
      res.set_chunked_content_provider(
          "text/event-stream", [this, n, gap](size_t, httplib::DataSink& sink) {
            for (int i = 0; i < n; ++i) {
              const std::string frame = "data: " + std::to_string(i) + "\n\n";
              if (!sink.write(frame.data(), frame.size())) return false;
              nap(std::chrono::milliseconds(gap));
            }
            sink.done();
            return true;
          });
    });
    // One event, then silence for 3 s.
    s.Get("/stall", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream",
                                       [this](size_t, httplib::DataSink& sink) {
                                         sink.write("data: 0\n\n", 9);
                                         nap(3000ms);
                                         sink.done();
                                         return true;
                                       });
    });
    // Headers only after 1 s.
    s.Get("/slow-head", [this](const httplib::Request&, httplib::Response& res) {
      nap(1000ms);
      res.set_content("late", "text/plain");
    });
    // A byte every 40 ms for 3 s: never idle, but long.
    s.Get("/drip", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [this](size_t, httplib::DataSink& sink) {
        for (int i = 0; i < 75; ++i) {
          if (!sink.write(".", 1)) return false;
          nap(40ms);
        }
        sink.done();
        return true;
      });
    });
    s.Get("/big", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::string(std::stoul(req.get_param_value("n")), 'x'), "text/plain");
    });
    // Announces 1000 bytes, sends 500, then gives up (the connection closes).
    s.Get("/cut", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(1000, "text/plain",
                               [](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset > 0) return false;
                                 const std::string half(500, 'h');
                                 sink.write(half.data(), half.size());
                                 return true;
                               });
    });
    // A chunked body that stops without its final zero-length chunk.
    s.Get("/cut-chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream",
                                       [](size_t offset, httplib::DataSink& sink) {
                                         if (offset > 0) return false;
                                         sink.write("data: 0\n\n", 9);
                                         return true;
                                       });
    });
  }
};

HttpRequest get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.timeouts.connect = 2000ms;
  r.timeouts.first_byte = 3000ms;
  r.timeouts.idle = 3000ms;
  r.timeouts.total = 5000ms;
  return r;
}

// A loopback port that nothing listens on (bound, then closed).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Collected {
  std::vector<std::string> chunks;
  std::string body() const {
    std::string all;
    for (const auto& c : chunks) all += c;
    return all;
  }
};

HttpStreamHandler collect_into(Collected& c) {
  HttpStreamHandler h;
  h.on_data = [&c](std::string_view bytes) {
    c.chunks.emplace_back(bytes);
    return true;
  };
  return h;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("HTTP GET and POST, headers both ways", "[http]") {
  TestServer server;
  HttpClient client;

  HttpRequest req = get(server.url("/echo"));
  req.headers.add("X-Test", "hello");
  auto res = client.send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->body == "GET ");
  CHECK_FALSE(res->cancelled);
  CHECK(res->headers.get("X-Seen-Test") == "hello");
  CHECK(res->headers.get("x-seen-agent") == "chaja");
  // Case-insensitive lookup (Retry-After is what the retry logic reads).
  CHECK(res->headers.get("retry-after") == "7");
  CHECK(res->headers.get("RETRY-AFTER") == "7");
  CHECK(res->headers.get_all("x-multi") == std::vector<std::string_view>{"a", "b"});
  CHECK_FALSE(res->headers.get("x-absent"));

  HttpRequest post = get(server.url("/echo"));
  post.method = "POST";
  post.headers.set("Content-Type", "application/json");
  post.body = R"({"q":"찾아"})";
  auto posted = client.send(post);
  REQUIRE(posted.ok());
  CHECK(posted->status == 200);
  CHECK(posted->body == std::string("POST ") + R"({"q":"찾아"})");
  CHECK(posted->headers.get("x-seen-type") == "application/json");

  // A large body goes in one request (no Expect: 100-continue round trip).
  post.body = std::string(200000, 'b');
  auto large = client.send(post);
  REQUIRE(large.ok());
  CHECK(large->body.size() == 5 + 200000);

  for (const char* method : {"PUT", "DELETE"}) {
    HttpRequest r = get(server.url("/echo"));
    r.method = method;
    r.body = method[0] == 'P' ? "put body" : "";
    auto other = client.send(r);
    REQUIRE(other.ok());
    CHECK(other->body == std::string(method) + " " + r.body);
  }
}

TEST_CASE("HTTP error statuses are values, not errors", "[http]") {
  TestServer server;
  HttpClient client;
  auto res = client.send(get(server.url("/status429")));
  REQUIRE(res.ok());
  CHECK(res->status == 429);
  CHECK(res->headers.get("Retry-After") == "12");
  CHECK(contains(res->body, "rate_limit_exceeded"));
  auto missing = client.send(get(server.url("/nowhere")));
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
}

TEST_CASE("HTTP connections are reused between calls", "[http]") {
  TestServer server;
  HttpClient client;
  auto a = client.send(get(server.url("/port")));
  auto b = client.send(get(server.url("/port")));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->body == b->body);  // same client port: same connection
}

TEST_CASE("HTTP streaming delivers a slow chunked response as it arrives", "[http]") {
  TestServer server;
  HttpClient client;
  Collected c;
  HttpStreamHandler h = collect_into(c);
  int head_status = 0;
  std::string head_type;
  size_t chunks_at_head = 99;
  h.on_head = [&](const HttpResponse& head) {
    head_status = head.status;
    head_type = std::string(head.headers.get("content-type").value_or(""));
    chunks_at_head = c.chunks.size();
    return true;
  };
  std::vector<long long> arrivals;
  const auto start = Clock::now();
  auto inner = h.on_data;
  h.on_data = [&](std::string_view bytes) {
    arrivals.push_back(ms_since(start));
    return inner(bytes);
  };
  auto res = client.stream(get(server.url("/sse?n=5&gap=60")), h);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->body.empty());
  CHECK(head_status == 200);
  CHECK(head_type == "text/event-stream");
  CHECK(chunks_at_head == 0);
  REQUIRE(c.chunks.size() >= 3);                     // not buffered into one piece
  CHECK(arrivals.back() - arrivals.front() >= 150);  // spread over the server's gaps

  SseParser parser;
  std::vector<SseEvent> events;
  REQUIRE(parser.feed(c.body(), events).ok());
  REQUIRE(events.size() == 5);
  CHECK(events[4].data == "4");
  CHECK_FALSE(parser.finish()->truncated);
}

TEST_CASE("HTTP timeouts: idle gap, first byte, total, connect", "[http]") {
  TestServer server;
  HttpClient client;

  SECTION("idle gap on a stalled stream") {
    HttpRequest r = get(server.url("/stall"));
    r.timeouts.idle = 250ms;
    Collected c;
    const auto start = Clock::now();
    auto res = client.stream(r, collect_into(c));
    const auto took = ms_since(start);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kTimeout);
    CHECK(contains(res.error().message, "idle timeout"));
    CHECK(contains(res.error().message, "250 ms"));
    CHECK(c.body() == "data: 0\n\n");
    CHECK(took >= 240);
    CHECK(took < 1500);
  }
  SECTION("first byte") {
    HttpRequest r = get(server.url("/slow-head"));
    r.timeouts.first_byte = 200ms;
    const auto start = Clock::now();
    auto res = client.send(r);
    CHECK(ms_since(start) < 900);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kTimeout);
    CHECK(contains(res.error().message, "first-byte timeout"));
  }
  SECTION("total, on a stream that is never idle") {
    HttpRequest r = get(server.url("/drip"));
    r.timeouts.idle = 300ms;
    r.timeouts.total = 400ms;
    Collected c;
    const auto start = Clock::now();
    auto res = client.stream(r, collect_into(c));
    const auto took = ms_since(start);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kTimeout);
    INFO(res.error().message);
    CHECK(contains(res.error().message, "total timeout"));
    CHECK(c.body().size() >= 3);
    CHECK(took >= 390);
    CHECK(took < 1500);
  }
  SECTION("connect, to a listener whose accept queue is full") {
    // A listening socket with backlog 0 that never accepts: once its queue holds a connection,
    // the kernel drops further SYNs and connect() hangs.
    const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(lfd, 0) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    std::vector<int> fillers;
    for (int i = 0; i < 3; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers.push_back(fd);
    }
    std::this_thread::sleep_for(50ms);
    HttpRequest r = get("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/");
    r.timeouts.connect = 300ms;
    const auto start = Clock::now();
    auto res = client.send(r);
    const auto took = ms_since(start);
    for (int fd : fillers) ::close(fd);
    ::close(lfd);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kTimeout);
    CHECK(contains(res.error().message, "connect timeout"));
    CHECK(took >= 250);
    CHECK(took < 1500);
  }
}

TEST_CASE("HTTP connect refused is a clear connection error", "[http]") {
  HttpClient client;
  const int port = closed_port();
  const auto start = Clock::now();
  auto res = client.send(get("http://127.0.0.1:" + std::to_string(port) + "/v1/chat?key=SECRET"));
  CHECK(ms_since(start) < 1000);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == ErrorKind::kUnavailable);
  CHECK(contains(res.error().message,
                 "could not connect to http://127.0.0.1:" + std::to_string(port) + "/v1/chat"));
  CHECK_FALSE(contains(res.error().message, "SECRET"));
}

TEST_CASE("HTTP cancel mid-stream, by callback and by flag", "[http]") {
  TestServer server;
  HttpClient client;

  SECTION("the data callback returns false") {
    HttpStreamHandler h;
    int calls = 0;
    h.on_data = [&](std::string_view) { return ++calls < 2; };
    const auto start = Clock::now();
    auto res = client.stream(get(server.url("/sse?n=50&gap=20")), h);
    CHECK(ms_since(start) < 800);
    REQUIRE(res.ok());
    CHECK(res->cancelled);
    CHECK(res->status == 200);
    CHECK(calls == 2);
  }
  SECTION("the head callback returns false") {
    HttpStreamHandler h;
    int data_calls = 0;
    h.on_head = [](const HttpResponse& head) { return head.status != 200; };
    h.on_data = [&](std::string_view) { return ++data_calls > 0; };
    auto res = client.stream(get(server.url("/sse?n=50&gap=20")), h);
    REQUIRE(res.ok());
    CHECK(res->cancelled);
    CHECK(data_calls == 0);
  }
  SECTION("the flag is set while nothing arrives") {
    std::atomic<bool> cancel{false};
    Collected c;
    const auto start = Clock::now();
    std::thread setter([&] {
      std::this_thread::sleep_for(200ms);
      cancel = true;
    });
    auto res = client.stream(get(server.url("/stall")), collect_into(c), &cancel);
    const auto took = ms_since(start);
    setter.join();
    REQUIRE(res.ok());
    CHECK(res->cancelled);
    CHECK(c.body() == "data: 0\n\n");
    CHECK(took >= 190);
    CHECK(took < 200 + 100 + 400);  // checked every 50 ms; generous for a noisy machine
  }
  SECTION("the flag also stops send()") {
    std::atomic<bool> cancel{true};
    auto res = client.send(get(server.url("/slow-head")), &cancel);
    REQUIRE(res.ok());
    CHECK(res->cancelled);
  }
  // After a cancelled transfer the client is fine for the next one.
  auto after = client.send(get(server.url("/echo")));
  REQUIRE(after.ok());
  CHECK(after->status == 200);
}

TEST_CASE("HTTP max body size", "[http]") {
  TestServer server;
  HttpClient client;
  HttpRequest r = get(server.url("/big?n=10000"));
  r.max_body_bytes = 1000;
  auto res = client.send(r);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == ErrorKind::kTooLarge);
  CHECK(contains(res.error().message, "larger than 1000 bytes"));

  Collected c;
  auto streamed = client.stream(r, collect_into(c));
  REQUIRE_FALSE(streamed.ok());
  CHECK(streamed.error().kind == ErrorKind::kTooLarge);
  CHECK(c.body().size() <= 1000);

  r.max_body_bytes = 10000;  // exactly the size: fine
  auto exact = client.send(r);
  REQUIRE(exact.ok());
  CHECK(exact->body.size() == 10000);
  // send() asked for compression; the limit counts the decoded bytes.
  const auto encoding = exact->headers.get("content-encoding");  // br or gzip
  CHECK((encoding == "br" || encoding == "gzip"));
  CHECK(exact->body == std::string(10000, 'x'));
}

TEST_CASE("HTTP response cut short is an upstream error", "[http]") {
  TestServer server;
  HttpClient client;
  SECTION("Content-Length not reached") {
    auto res = client.send(get(server.url("/cut")));
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(contains(res.error().message, "cut short"));
  }
  SECTION("chunked stream without its last chunk") {
    Collected c;
    auto res = client.stream(get(server.url("/cut-chunked")), collect_into(c));
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == ErrorKind::kUpstream);
    CHECK(c.body() == "data: 0\n\n");
  }
}

TEST_CASE("HTTP bad requests are refused before anything is sent", "[http]") {
  HttpClient client;
  HttpRequest r = get("http://127.0.0.1:1/");
  r.headers.add("Authorization", "Bearer sk-123\r\nX-Injected: 1");
  auto res = client.send(r);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == ErrorKind::kInvalidInput);
  CHECK_FALSE(contains(res.error().message, "sk-123"));

  HttpRequest bad_method = get("http://127.0.0.1:1/");
  bad_method.method = "GET /x";
  CHECK(client.send(bad_method).error().kind == ErrorKind::kInvalidInput);

  CHECK(client.send(get("nope://x")).error().kind == ErrorKind::kInvalidInput);
}

TEST_CASE("HTTP client refuses a second call while one runs", "[http]") {
  TestServer server;
  HttpClient client;
  std::optional<Error> inner_error;
  HttpStreamHandler h;
  h.on_data = [&](std::string_view) {
    auto nested = client.send(get(server.url("/echo")));
    if (!nested.ok()) inner_error = nested.error();
    return false;
  };
  auto res = client.stream(get(server.url("/sse?n=3&gap=10")), h);
  REQUIRE(res.ok());
  REQUIRE(inner_error);
  CHECK(inner_error->kind == ErrorKind::kInternal);
}

TEST_CASE("HTTP secrets stay out of logs and messages", "[http]") {
  CHECK(is_secret_header("Authorization"));
  CHECK(is_secret_header("x-api-key"));
  CHECK(is_secret_header("X-NCP-CLOVASTUDIO-API-KEY"));
  CHECK(is_secret_header("Proxy-Authorization"));
  CHECK(is_secret_header("Cookie"));
  CHECK_FALSE(is_secret_header("Content-Type"));
  CHECK_FALSE(is_secret_header("anthropic-version"));

  CHECK(redact_url("https://user:pw@api.example.com:8443/v1/x?key=abc#frag") ==
        "https://api.example.com:8443/v1/x");

  HttpRequest r;
  r.method = "POST";
  r.url = "https://api.example.com/v1/messages?key=abc";
  r.headers.add("x-api-key", "sk-ant-secret");
  r.headers.add("Authorization", "Bearer sk-secret");
  r.headers.add("anthropic-version", "2023-06-01");
  r.body = "{}";
  const std::string d = describe(r);
  CHECK_FALSE(contains(d, "secret"));
  CHECK_FALSE(contains(d, "abc"));
  CHECK(contains(d, "x-api-key: <redacted>"));
  CHECK(contains(d, "anthropic-version: 2023-06-01"));
  CHECK(contains(d, "POST https://api.example.com/v1/messages"));
}
