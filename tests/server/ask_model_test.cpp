// End to end, per provider: `chaja ask --model provider:model` with the provider's base-URL
// variable pointing at a server on 127.0.0.1 that replays the provider's recorded stream
// (tests/fixtures/<provider>/). The real binary indexes a small corpus, retrieves, sends the
// numbered passages and prints the replayed answer with its sources. Nothing here links Chaja.
#include <catch2/catch.hpp>

#include "../support/chaja_process.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fixture(const std::string& name) {
  const std::string bytes = read_file(fs::path(CHAJA_FIXTURES) / name);
  REQUIRE_FALSE(bytes.empty());
  return bytes;
}

// Serves one recorded body for POST `path` (and an empty model list for GET), in small chunks,
// and keeps the last request it received.
class Replay {
 public:
  Replay(std::string path, std::string body, std::string content_type, int status = 200)
      : body_(std::move(body)), content_type_(std::move(content_type)), status_(status) {
    server_.Post(path, [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(req.body);
        last_body_ = req.body;
        last_headers_ = req.headers;
      }
      res.status = status_;
      if (status_ != 200) return res.set_content(body_, content_type_);
      res.set_chunked_content_provider(
          content_type_, [this](size_t offset, httplib::DataSink& sink) {
            if (offset >= body_.size()) {
              sink.done();
              return true;
            }
            const size_t n = std::min<size_t>(7, body_.size() - offset);  // awkward boundaries
            return sink.write(body_.data() + offset, n);
          });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~Replay() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string last_body() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_body_;
  }
  // The first request whose body holds `part` (the answer's call is one of several: the
  // search plan, a bridge search and the related questions are asked of the model too).
  std::string body_with(const std::string& part) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& b : bodies_)
      if (b.find(part) != std::string::npos) return b;
    return "";
  }
  std::string last_header(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = last_headers_.find(name);
    return it == last_headers_.end() ? "" : it->second;
  }

 private:
  httplib::Server server_;
  std::string body_, content_type_;
  int status_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::string last_body_;
  httplib::Headers last_headers_;
};

struct Run {
  int exit_code = -1;
  std::string out;
};

// Runs the chaja binary through the shell with `env` prepended; stdout captured, stderr into it.
Run run(const std::string& env, const std::string& args) {
  const std::string cmd =
      "env -i PATH=/usr/bin:/bin " + env + " '" + CHAJA_BINARY + "' " + args + " 2>&1";
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A data directory with two small documents, indexed by the real `chaja index`.
class Corpus {
 public:
  Corpus() {
    std::string tmpl = (fs::temp_directory_path() / "chaja-e2e-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    fs::create_directories(dir_ / "docs");
    std::ofstream(dir_ / "docs" / "lighthouse.md")
        << "# Greywick Point\n\nThe Greywick lighthouse was automated in 1968 after a storm.\n";
    std::ofstream(dir_ / "docs" / "tea.md")
        << "# 보성 녹차\n\n보성 녹차 축제는 매년 5월에 열린다.\n";
    const Run r = run(
        "", "index '" + (dir_ / "docs").string() + "' --data '" + (dir_ / "data").string() + "'");
    REQUIRE(r.exit_code == 0);
  }
  ~Corpus() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string data() const { return (dir_ / "data").string(); }

 private:
  fs::path dir_;
};

struct Case {
  const char* model;
  const char* env;  // the provider's variables; {url} becomes the replay server's
  const char* path;
  const char* fixture;
  const char* content_type;
  const char* answer;  // what the replayed stream assembles to
};

std::string expand(std::string env, const std::string& url) {
  const size_t at = env.find("{url}");
  if (at != std::string::npos) env.replace(at, 5, url);
  return env;
}

}  // namespace

TEST_CASE("e2e: chaja ask --model answers through each provider's replayed stream", "[e2e]") {
  const Corpus corpus;
  const Case cases[] = {
      {"openai:gpt-4o-mini", "OPENAI_API_KEY=sk-test OPENAI_BASE_URL={url}/v1",
       "/v1/chat/completions", "openai/chat_stream_include_usage.sse", "text/event-stream",
       "I'm unable to provide real-time weather updates. To get the current weather in San "
       "Francisco, I recommend checking a reliable weather website or a weather app."},
      {"mistral:mistral-small-latest", "MISTRAL_API_KEY=sk-test MISTRAL_BASE_URL={url}/v1",
       "/v1/chat/completions", "mistral/chat_stream.sse", "text/event-stream",
       "Coca-Cola most recognizable"},
      {"anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY=sk-ant-test ANTHROPIC_BASE_URL={url}",
       "/v1/messages", "anthropic/stream_basic.sse", "text/event-stream", "Hello there!"},
      {"ollama:llama3.1", "OLLAMA_HOST={url}", "/api/chat", "ollama/chat_stream.ndjson",
       "application/x-ndjson", "The"},
      {"clova:HCX-005", "CLOVASTUDIO_API_KEY=test-clovastudio-api-key CLOVASTUDIO_BASE_URL={url}",
       "/v3/chat-completions/HCX-005", "clova/v3_chat_stream.sse", "text/event-stream", "안녕"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.model) {
      Replay replay(c.path, fixture(c.fixture), c.content_type);
      const Run r = run(expand(c.env, replay.url()),
                        "ask 'When was the Greywick lighthouse automated?' --model " +
                            std::string(c.model) + " --data '" + corpus.data() + "'");
      INFO(r.out);
      CHECK(r.exit_code == 0);
      CHECK(r.out.rfind(std::string(c.answer) + "\n", 0) == 0);  // the answer first
      // The recorded answers cite nothing, so no source is listed: the list is what was cited.
      CHECK(r.out.find("\nSources:\n") == std::string::npos);
      // The passages went to the model, fenced and numbered, and the key only in its header.
      const std::string sent = replay.body_with("<source n=");
      CHECK(sent.find("<source n=\\\"1\\\" kind=\\\"document\\\" title=\\\"Greywick Point") !=
            std::string::npos);
      CHECK(sent.find("automated in 1968") != std::string::npos);
      CHECK(sent.find("sk-") == std::string::npos);
      CHECK(sent.find("clovastudio-api-key") == std::string::npos);
    }
  }
}

TEST_CASE("e2e: openai-compat (llama.cpp server) answers, reasoning deltas left out", "[e2e]") {
  const Corpus corpus;
  Replay replay(
      "/v1/chat/completions",
      fixture("llamacpp/chat_stream_head_reasoning.sse") + fixture("llamacpp/chat_stream_tail.sse"),
      "text/event-stream");
  const Run r = run("OPENAI_COMPAT_BASE_URL=" + replay.url(),
                    "ask 'When was the Greywick lighthouse automated?' --model "
                    "openai-compat:gpt-oss --data '" +
                        corpus.data() + "'");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("!\n", 0) == 0);
  CHECK(json::parse(replay.last_body())["model"] == "gpt-oss");
}

TEST_CASE("e2e: a provider error is one clear line and exit 1; a chain falls back", "[e2e]") {
  const Corpus corpus;
  Replay replay("/v1/chat/completions", fixture("openai/error_401_invalid_api_key.json"),
                "application/json", 401);
  const std::string env = "OPENAI_API_KEY=sk-test OPENAI_BASE_URL=" + replay.url() + "/v1";
  const Run failed = run(env,
                         "ask 'When was the Greywick lighthouse automated?' --model "
                         "openai:gpt-4o-mini --data '" +
                             corpus.data() + "'");
  INFO(failed.out);
  CHECK(failed.exit_code == 1);
  CHECK(failed.out.find("OPENAI_API_KEY") != std::string::npos);
  CHECK(failed.out.find("sk-test") == std::string::npos);
  const Run chained = run(env,
                          "ask 'When was the Greywick lighthouse automated?' --model "
                          "openai:gpt-4o-mini,extractive --data '" +
                              corpus.data() + "'");
  INFO(chained.out);
  CHECK(chained.exit_code == 0);
  CHECK(chained.out.find("1968") != std::string::npos);
  // Not configured at all: the message names the variable to set.
  const Run unset =
      run("", "ask 'lighthouse?' --model mistral:small --data '" + corpus.data() + "'");
  CHECK(unset.exit_code == 1);
  CHECK(unset.out.find("MISTRAL_API_KEY") != std::string::npos);
}

TEST_CASE("e2e: keys and base URLs from the config file; a bad file is one clear line", "[e2e]") {
  const Corpus corpus;
  Replay replay("/v1/messages", fixture("anthropic/stream_basic.sse"), "text/event-stream");
  const fs::path config = fs::path(corpus.data()).parent_path() / "chaja.json";
  std::ofstream(config) << "{\n  \"default_model\": \"anthropic:claude-sonnet-4-5\",\n"
                        << "  \"providers\": {\"anthropic\": {\"api_key\": \"sk-ant-test\", "
                        << "\"base_url\": \"" << replay.url() << "\"}}\n}\n";
  const Run r =
      run("CHAJA_CONFIG='" + config.string() + "'",
          "ask 'When was the Greywick lighthouse automated?' --data '" + corpus.data() + "'");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("Hello there!\n", 0) == 0);
  CHECK(replay.last_header("x-api-key") == "sk-ant-test");
  std::ofstream(config) << "{\n  \"providers\": {\"anthropic\": {\"api_kye\": \"x\"}}\n}\n";
  const Run bad = run(
      "", "ask 'lighthouse?' --config '" + config.string() + "' --data '" + corpus.data() + "'");
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("line 2: unknown key \"api_kye\"") != std::string::npos);
}

namespace {

// A loopback port that was free a moment ago: bound with port 0, read back, released.
using chaja::test::Serve;

}  // namespace

TEST_CASE("e2e: POST /v1/ask with a model streams sources, the model's deltas and done", "[e2e]") {
  const Corpus corpus;
  Replay replay("/v3/chat-completions/HCX-005", fixture("clova/v3_chat_stream.sse"),
                "text/event-stream");
  Serve serve(
      {"CLOVASTUDIO_API_KEY=test-clovastudio-api-key", "CLOVASTUDIO_BASE_URL=" + replay.url()},
      corpus.data());
  auto client = serve.client();
  const json ask = {{"query", "When was the Greywick lighthouse automated?"},
                    {"model", "clova:HCX-005"}};
  auto whole = client.Post("/v1/ask", ask.dump(), "application/json");
  REQUIRE(whole);
  INFO(whole->body);
  REQUIRE(whole->status == 200);
  const json j = json::parse(whole->body);
  CHECK(j["answer"] == "안녕");
  CHECK(j["model"] == "clova:HCX-005");
  CHECK(j["usage"]["prompt_tokens"] == 20);
  CHECK(j["usage"]["completion_tokens"] == 5);
  // "안녕" cites nothing: no citations, though the sources went out (the stream's sources event).
  CHECK(j["citations"].empty());

  json streamed = ask;
  streamed["stream"] = true;
  auto sse = client.Post("/v1/ask", streamed.dump(), "application/json");
  REQUIRE(sse);
  REQUIRE(sse->status == 200);
  const std::string& b = sse->body;
  const size_t sources = b.find("event: sources"), delta = b.find("event: delta"),
               done = b.find("event: done");
  CHECK(sources < delta);
  CHECK(delta < done);
  CHECK(done != std::string::npos);
  CHECK(b.find("Greywick Point", sources) < delta);
  CHECK(b.find("\"text\":\"안\"") != std::string::npos);  // token by token, as the model sent it
}

TEST_CASE("e2e: a client that goes away cancels the model call", "[e2e]") {
  const Corpus corpus;
  // A provider that accepts the call and then stays silent (a comment every 50 ms), noting
  // when Chaja hangs up.
  httplib::Server provider;
  std::atomic<bool> called{false}, hung_up{false};
  provider.Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    called = true;
    res.set_chunked_content_provider("text/event-stream", [&](size_t, httplib::DataSink& sink) {
      for (int i = 0; i < 400; ++i) {  // 20 s at most
        if (!sink.write(": thinking\n\n", 12)) {
          hung_up = true;
          return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return false;
    });
  });
  const int port = provider.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { provider.listen_after_bind(); });
  Serve serve({"OPENAI_API_KEY=sk-test",
               "OPENAI_BASE_URL=http://127.0.0.1:" + std::to_string(port) + "/v1"},
              corpus.data());
  {
    // The client asks for a stream, waits until the model call is under way, and leaves.
    auto client = serve.client();
    client.set_read_timeout(1, 0);
    const json ask = {{"query", "When was the Greywick lighthouse automated?"},
                      {"model", "openai:gpt-4o-mini"},
                      {"stream", true}};
    std::thread asker([&] { (void)client.Post("/v1/ask", ask.dump(), "application/json"); });
    for (int i = 0; i < 200 && !called; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(called);
    client.stop();  // closes the socket
    asker.join();
  }
  // Chaja notices at its next keep-alive (within a second) and cancels the call upstream.
  for (int i = 0; i < 400 && !hung_up; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(hung_up);
  provider.stop();
  listener.join();
}

TEST_CASE("e2e: chaja index --embedder ollama:MODEL; later searches use the collection's",
          "[e2e]") {
  // An Ollama /api/embed in its real response shape, computing vectors for what it is sent: one
  // direction for the sea, one for tea, one for anything else.
  httplib::Server ollama;
  std::atomic<int> calls{0};
  ollama.Post("/api/embed", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    const json in = json::parse(req.body);
    json rows = json::array();
    for (const auto& t : in["input"]) {
      const std::string s = t.get<std::string>();
      const bool sea =
          s.find("lighthouse") != std::string::npos || s.find("coast") != std::string::npos;
      const bool tea = s.find("녹차") != std::string::npos;
      rows.push_back({sea ? 1.0 : 0.0, tea ? 1.0 : 0.0, sea || tea ? 0.0 : 1.0});
    }
    res.set_content(json{{"model", in["model"]}, {"embeddings", rows}}.dump(), "application/json");
  });
  const int port = ollama.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { ollama.listen_after_bind(); });
  const std::string env = "OLLAMA_HOST=127.0.0.1:" + std::to_string(port);

  std::string tmpl = (fs::temp_directory_path() / "chaja-e2e-XXXXXX").string();
  const fs::path dir = ::mkdtemp(tmpl.data());
  fs::create_directories(dir / "docs");
  std::ofstream(dir / "docs" / "lighthouse.md")
      << "# Greywick Point\n\nThe Greywick lighthouse was automated in 1968.\n";
  std::ofstream(dir / "docs" / "tea.md") << "# 보성\n\n보성 녹차 축제는 매년 5월에 열린다.\n";
  const std::string data = "--data '" + (dir / "data").string() + "'";
  const Run indexed = run(env, "index '" + (dir / "docs").string() +
                                   "' --embedder "
                                   "ollama:nomic-embed-text --quiet " +
                                   data);
  INFO(indexed.out);
  REQUIRE(indexed.exit_code == 0);
  // No --embedder: the collection's own. "coast" shares no word with any document.
  const Run found = run(env, "search coast --json --explain " + data);
  INFO(found.out);
  REQUIRE(found.exit_code == 0);
  const json results = json::parse(found.out)["results"];
  REQUIRE_FALSE(results.empty());
  CHECK(results[0]["source"].get<std::string>().find("lighthouse.md") != std::string::npos);
  CHECK(results[0]["explain"]["dense"]["rank"] == 1);
  CHECK(calls > 1);  // the documents, then the query
  // Another embedder on the same collection is refused, naming both.
  const Run other = run(env, "index '" + (dir / "docs").string() + "' --embedder builtin " + data);
  CHECK(other.exit_code == 1);
  CHECK(other.out.find("ollama:nomic-embed-text") != std::string::npos);
  ollama.stop();
  listener.join();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST_CASE("e2e: chaja models asks each configured provider, within the timeout", "[e2e]") {
  httplib::Server fake;
  fake.Get("/api/tags", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(fixture("ollama/tags_response.json"), "application/json");
  });
  fake.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::seconds(3));  // a provider that hangs
    res.set_content("{\"data\":[]}", "application/json");
  });
  const int port = fake.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { fake.listen_after_bind(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const auto t0 = std::chrono::steady_clock::now();
  const Run r = run("OLLAMA_HOST=" + url + " OPENAI_API_KEY=sk-test OPENAI_BASE_URL=" + url + "/v1",
                    "models --timeout-ms 500");
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ollama ") != std::string::npos);
  CHECK(r.out.find("answers (") != std::string::npos);      // ollama's model list came back
  CHECK(r.out.find("not answering") != std::string::npos);  // openai timed out
  CHECK(r.out.find("set ANTHROPIC_API_KEY") != std::string::npos);
  CHECK(r.out.find("sk-test") == std::string::npos);
  CHECK(took < std::chrono::milliseconds(2500));  // all at once, each bounded
  fake.stop();
  listener.join();
}

// The recorded OpenAI stream's shape with the content swapped for an answer whose markers point
// past the sources, at nothing, and split across chunks.
std::string openai_stream_of(const std::vector<std::string>& pieces) {
  const std::string recorded = fixture("openai/chat_stream_include_usage.sse");
  const size_t first = recorded.find("data: ");
  const size_t end = recorded.find("\n\n", first);
  json chunk = json::parse(recorded.substr(first + 6, end - first - 6));
  std::string out;
  for (const std::string& p : pieces) {
    chunk["choices"][0]["delta"] = {{"content", p}};
    out += "data: " + chunk.dump() + "\n\n";
  }
  chunk["choices"][0]["delta"] = json::object();
  chunk["choices"][0]["finish_reason"] = "stop";
  out += "data: " + chunk.dump() + "\n\ndata: [DONE]\n\n";
  return out;
}

TEST_CASE("e2e: a model's bad citation markers never reach the caller", "[e2e]") {
  const Corpus corpus;
  Replay replay("/v1/chat/completions",
                openai_stream_of({"The lighthouse was automated in 1968 [", "1][9]. It has ",
                                  "a keeper's cottage [0] and a museum [42].", " See also [1"}),
                "text/event-stream");
  Serve serve({"OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + replay.url() + "/v1"}, corpus.data());
  auto client = serve.client();
  const json ask = {{"query", "When was the Greywick lighthouse automated?"},
                    {"model", "openai:gpt-4o-mini"},
                    {"stream", true}};
  auto sse = client.Post("/v1/ask", ask.dump(), "application/json");
  REQUIRE(sse);
  INFO(sse->body);
  REQUIRE(sse->status == 200);
  std::string streamed;
  json done;
  int citation_events = 0;
  size_t at = 0;
  while ((at = sse->body.find("event: ", at)) != std::string::npos) {
    const size_t nl = sse->body.find('\n', at);
    const std::string name = sse->body.substr(at + 7, nl - at - 7);
    const size_t data = sse->body.find("data: ", nl);
    const size_t end = sse->body.find("\n\n", data);
    const json j = json::parse(sse->body.substr(data + 6, end - data - 6));
    if (name == "delta") streamed += j["text"].get<std::string>();
    if (name == "citation") ++citation_events;
    if (name == "done") done = j;
    at = end;
  }
  // Only [1] pointed at a source; [9], [0], [42] and the cut-off "[1" are gone.
  CHECK(streamed ==
        "The lighthouse was automated in 1968 [1]. It has a keeper's cottage and a museum. "
        "See also");
  CHECK(done["answer"] == streamed);
  REQUIRE(done["citations"].size() == 1);
  CHECK(done["citations"][0]["n"] == 1);
  CHECK(citation_events == 1);
  // The one claim with a marker is checked against its source.
  REQUIRE(done["claims"].size() == 1);
  CHECK(done["claims"][0]["citations"] == json::array({1}));
  CHECK(done["claims"][0]["supported"] == true);
}
