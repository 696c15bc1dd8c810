#include "connectors/web_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "index/charset.h"

namespace chaja {
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A numeric address as 16 bytes (IPv4 as ::ffff:a.b.c.d).
std::optional<std::array<unsigned char, 16>> parse_address(std::string_view text) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::array<unsigned char, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool in_prefix(const unsigned char* a, const unsigned char* net, int prefix) {
  for (int bit = 0; bit < prefix; ++bit) {
    const int byte = bit / 8;
    const int mask = 0x80 >> (bit % 8);
    if ((a[byte] & mask) != (net[byte] & mask)) return false;
  }
  return true;
}

bool is_v4_mapped(const std::array<unsigned char, 16>& a) {
  for (int i = 0; i < 10; ++i)
    if (a[i] != 0) return false;
  return a[10] == 0xff && a[11] == 0xff;
}

bool restricted(const std::array<unsigned char, 16>& a) {
  if (is_v4_mapped(a)) {
    const unsigned char* v = a.data() + 12;
    const unsigned b0 = v[0];
    const unsigned b1 = v[1];
    if (b0 == 0 || b0 == 10 || b0 == 127) return true;   // this network, private, loopback
    if (b0 == 100 && (b1 & 0xc0) == 64) return true;     // CGNAT 100.64/10
    if (b0 == 169 && b1 == 254) return true;             // link-local, cloud metadata
    if (b0 == 172 && (b1 & 0xf0) == 16) return true;     // 172.16/12
    if (b0 == 192 && b1 == 168) return true;             // 192.168/16
    if (b0 == 192 && b1 == 0 && v[2] == 0) return true;  // IETF protocol assignments
    if (b0 == 198 && (b1 & 0xfe) == 18) return true;     // benchmarking 198.18/15
    if (b0 >= 224) return true;                          // multicast, reserved, broadcast
    return false;
  }
  static const std::array<unsigned char, 16> zero{};
  std::array<unsigned char, 16> loop{};
  loop[15] = 1;
  if (a == zero || a == loop) return true;                 // unspecified, loopback
  if ((a[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return true;  // fec0::/10 site-local (deprecated)
  if (a[0] == 0xff) return true;                           // multicast
  // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) carry an IPv4 address.
  bool compat = true;
  for (int i = 0; i < 12; ++i) compat = compat && a[i] == 0;
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (compat || std::memcmp(a.data(), nat64, 12) == 0) {
    std::array<unsigned char, 16> v4{};
    v4[10] = v4[11] = 0xff;
    std::memcpy(v4.data() + 12, a.data() + 12, 4);
    return restricted(v4);
  }
  return false;
}

}  // namespace

bool is_restricted_address(std::string_view address) {
  const auto a = parse_address(address);
  return !a || restricted(*a);
}

Result<FetchAllowList> FetchAllowList::parse(std::string_view text) {
  FetchAllowList list;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (entry.empty()) continue;
    const size_t slash = entry.find('/');
    const auto address = parse_address(entry.substr(0, slash));
    if (!address) {
      if (slash != std::string_view::npos || entry.find_first_of(" []") != std::string_view::npos)
        return make_error(ErrorKind::kInvalidInput,
                          "fetch allow-list: not a host or CIDR range: " + std::string(entry));
      list.hosts_.push_back(lower(entry));
      continue;
    }
    const bool v4 = is_v4_mapped(*address) && entry.find(':') == std::string_view::npos;
    int prefix = 128;
    if (slash != std::string_view::npos) {
      const std::string bits(entry.substr(slash + 1));
      char* end = nullptr;
      const long n = bits.empty() ? -1 : std::strtol(bits.c_str(), &end, 10);
      if (n < 0 || (end && *end != '\0') || n > (v4 ? 32 : 128))
        return make_error(ErrorKind::kInvalidInput,
                          "fetch allow-list: bad prefix length in " + std::string(entry));
      prefix = static_cast<int>(v4 ? n + 96 : n);
    }
    Range range{};
    std::memcpy(range.bytes, address->data(), 16);
    range.prefix = prefix;
    list.ranges_.push_back(range);
  }
  return list;
}

void FetchAllowList::merge(const FetchAllowList& other) {
  hosts_.insert(hosts_.end(), other.hosts_.begin(), other.hosts_.end());
  ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
}

bool FetchAllowList::allows_host(std::string_view host) const {
  std::string h = lower(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  while (!h.empty() && h.back() == '.') h.pop_back();
  return std::find(hosts_.begin(), hosts_.end(), h) != hosts_.end();
}

bool FetchAllowList::allows_address(std::string_view address) const {
  const auto a = parse_address(address);
  if (!a) return false;
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const Range& r) { return in_prefix(a->data(), r.bytes, r.prefix); });
}

std::string default_fetch_user_agent() {
  return "Chaja/" CHAJA_VERSION " (answer engine page fetcher; +https://github.com/chaja/chaja)";
}

std::optional<std::string> RobotsCache::get(const std::string& origin) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(origin);
  if (it == entries_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() - it->second.stored > ttl_) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.text;
}

void RobotsCache::put(const std::string& origin, std::string robots_txt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= max_origins_ && !entries_.count(origin)) {
    auto oldest = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.stored < b.second.stored; });
    entries_.erase(oldest);
  }
  entries_[origin] = {std::move(robots_txt), std::chrono::steady_clock::now()};
}

bool robots_allows(std::string_view robots_txt, std::string_view agent, std::string_view path) {
  // Groups: consecutive User-agent lines followed by rules. Rules of the groups naming `agent`
  // win over those of "*".
  struct Rule {
    bool allow;
    std::string prefix;
  };
  std::vector<Rule> mine, star;
  bool any_mine = false;
  bool in_agents = false;
  bool group_mine = false, group_star = false;
  const std::string token = lower(agent);
  while (!robots_txt.empty()) {
    const size_t nl = robots_txt.find('\n');
    std::string_view line = robots_txt.substr(0, nl);
    robots_txt = nl == std::string_view::npos ? std::string_view{} : robots_txt.substr(nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string key = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "user-agent") {
      if (!in_agents) group_mine = group_star = false;
      in_agents = true;
      const std::string v = lower(value);
      if (v == "*") {
        group_star = true;
      } else if (!v.empty() && token.find(v) != std::string::npos) {
        group_mine = true;
        any_mine = true;
      }
      continue;
    }
    if (key != "allow" && key != "disallow") continue;
    in_agents = false;
    if (value.empty()) continue;  // "Disallow:" allows everything
    const Rule rule{key == "allow", std::string(value)};
    if (group_mine) mine.push_back(rule);
    if (group_star) star.push_back(rule);
  }
  const std::vector<Rule>& rules = any_mine ? mine : star;
  const Rule* best = nullptr;
  for (const Rule& r : rules) {
    std::string_view prefix = r.prefix;
    if (!prefix.empty() && prefix.back() == '*') prefix.remove_suffix(1);
    if (path.substr(0, prefix.size()) != prefix) continue;
    if (!best || r.prefix.size() > best->prefix.size() ||
        (r.prefix.size() == best->prefix.size() && r.allow))
      best = &r;
  }
  return !best || best->allow;
}

namespace {

struct UrlParts {
  std::string scheme, host, port, path, origin;
};

Result<UrlParts> split_url(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return make_error(ErrorKind::kInvalidInput, "not a valid URL: " + url);
  auto part = [&](CURLUPart which, unsigned flags) -> std::string {
    char* p = nullptr;
    if (curl_url_get(u.get(), which, &p, flags) != CURLUE_OK || !p) return "";
    std::string s(p);
    curl_free(p);
    return s;
  };
  UrlParts parts;
  parts.scheme = lower(part(CURLUPART_SCHEME, 0));
  if (parts.scheme != "http" && parts.scheme != "https")
    return make_error(ErrorKind::kInvalidInput,
                      "only http and https URLs are fetched, not " + parts.scheme + ": " + url);
  parts.host = lower(part(CURLUPART_HOST, 0));
  parts.port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  parts.path = part(CURLUPART_PATH, 0);
  if (parts.path.empty()) parts.path = "/";
  if (parts.host.empty()) return make_error(ErrorKind::kInvalidInput, "URL without host: " + url);
  parts.origin = parts.scheme + "://" + parts.host + ":" + parts.port;
  return parts;
}

Result<std::vector<std::string>> resolve_host(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res)
    return make_error(ErrorKind::kUnavailable,
                      "cannot resolve " + host + ": " + std::string(gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::vector<std::string> out;
  for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* src =
        ai->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    if (inet_ntop(ai->ai_family, src, buf, sizeof buf)) out.emplace_back(buf);
  }
  if (out.empty()) return make_error(ErrorKind::kUnavailable, "cannot resolve " + host);
  return out;
}

// The host of a URL without IPv6 brackets.
std::string bare_host(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[') return host.substr(1, host.size() - 2);
  return host;
}

// Lookups on detached threads: all of a call's hosts at once, and a lookup that hangs costs only
// the deadline of the pages waiting for it (the thread finishes on its own, into shared state).
class ParallelResolver {
 public:
  explicit ParallelResolver(HostResolver resolver)
      : shared_(std::make_shared<Shared>()),
        resolver_(resolver ? std::move(resolver) : HostResolver(resolve_host)) {}

  void start(const std::string& host, const std::string& port) {
    const std::string key = host + ":" + port;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (!shared_->started.insert(key).second) return;
    }
    std::thread([shared = shared_, resolver = resolver_, host, port, key] {
      auto addresses = resolver(host, port);
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->done.emplace(key, std::move(addresses));
      shared->cv.notify_all();
    }).detach();
  }

  // The addresses, or nullopt when `until` passed first.
  std::optional<Result<std::vector<std::string>>> wait(const std::string& host,
                                                       const std::string& port,
                                                       Clock::time_point until) {
    start(host, port);
    const std::string key = host + ":" + port;
    std::unique_lock<std::mutex> lock(shared_->mu);
    if (!shared_->cv.wait_until(lock, until, [&] { return shared_->done.count(key) > 0; }))
      return std::nullopt;
    return shared_->done.at(key);
  }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::set<std::string> started;
    std::map<std::string, Result<std::vector<std::string>>> done;
  };
  std::shared_ptr<Shared> shared_;
  HostResolver resolver_;
};

// The SSRF check: the address to connect to among the host's, or why not.
Result<std::string> checked_address(const std::string& host,
                                    const std::vector<std::string>& addresses,
                                    const FetchAllowList& allow) {
  const bool host_allowed = allow.allows_host(host);
  std::string refused;
  for (const std::string& a : addresses) {
    if (host_allowed || !is_restricted_address(a) || allow.allows_address(a)) return a;
    refused = a;
  }
  return make_error(ErrorKind::kForbidden, "refused to fetch " + host + ": it resolves to " +
                                               refused +
                                               ", a loopback, private, link-local or reserved "
                                               "address (allow it with CHAJA_FETCH_ALLOW)");
}

bool accepted_type(const std::string& type) {
  return type == "text/html" || type == "application/xhtml+xml" || type == "text/plain";
}

std::string charset_alias(std::string cs) {
  cs = lower(trim(cs));
  if (cs.size() >= 2 && (cs.front() == '"' || cs.front() == '\'')) cs = cs.substr(1, cs.size() - 2);
  if (cs == "euc-kr" || cs == "euckr" || cs == "ks_c_5601-1987" || cs == "windows-949" ||
      cs == "x-windows-949" || cs == "uhc" || cs == "ks_c_5601")
    return "cp949";
  return cs;
}

std::string charset_param(std::string_view text) {
  const std::string l = lower(text);
  const size_t at = l.find("charset=");
  if (at == std::string::npos) return "";
  size_t begin = at + 8;
  while (begin < l.size() && (l[begin] == '"' || l[begin] == '\'' || l[begin] == ' ')) ++begin;
  size_t end = begin;
  while (end < l.size() && (std::isalnum(static_cast<unsigned char>(l[end])) || l[end] == '-' ||
                            l[end] == '_' || l[end] == ':' || l[end] == '.'))
    ++end;
  return l.substr(begin, end - begin);
}

// <meta charset="..."> or <meta http-equiv="Content-Type" content="...; charset=...">.
std::string meta_charset(std::string_view body) {
  const std::string head = lower(body.substr(0, 2048));
  size_t pos = 0;
  while ((pos = head.find("<meta", pos)) != std::string::npos) {
    const size_t end = head.find('>', pos);
    const std::string tag =
        head.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    const std::string cs = charset_param(tag);
    if (!cs.empty()) return cs;
    pos += 5;
  }
  return "";
}

struct Job {
  size_t index = 0;     // result slot, for a page
  bool robots = false;  // a robots.txt fetch for `origin`
  std::string origin;
  std::string url;
  int hops = 0;
  Clock::time_point deadline;
  CURL* easy = nullptr;
  curl_slist* resolve = nullptr;
  std::string body;
  size_t max_bytes = 0;
  bool too_large = false;
  bool bad_type = false;
  std::string type;
  std::string declared;  // charset from the Content-Type header
  bool check_type = true;
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* job = static_cast<Job*>(user);
  const size_t bytes = size * n;
  if (job->check_type && job->body.empty()) {
    long status = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
    char* ct = nullptr;
    curl_easy_getinfo(job->easy, CURLINFO_CONTENT_TYPE, &ct);
    std::string type = ct ? lower(ct) : "";
    type = std::string(trim(type.substr(0, type.find(';'))));
    job->type = type;
    if (status >= 200 && status < 300 && !type.empty() && !accepted_type(type)) {
      job->bad_type = true;
      return 0;
    }
    if (status >= 300 && status < 400) return bytes;  // a redirect's body is not kept
  }
  if (job->body.size() + bytes > job->max_bytes) {
    job->too_large = true;
    return 0;
  }
  job->body.append(data, bytes);
  return bytes;
}

struct Origin {
  enum State { kUnknown, kLoading, kReady } state = kUnknown;
  std::string robots;
  std::vector<size_t> waiting;  // pages waiting for robots.txt
};

class Fetcher {
 public:
  Fetcher(const std::vector<std::string>& urls, const FetchOptions& options,
          const std::atomic<bool>* cancel)
      : options_(options),
        cancel_(cancel),
        resolver_(options.resolver),
        results_(urls.size()),
        jobs_(urls.size()) {
    allow_ = options.allow;
    if (options.use_env_allow) {
      if (const char* env = std::getenv("CHAJA_FETCH_ALLOW")) {
        auto parsed = FetchAllowList::parse(env);
        if (parsed) allow_.merge(*parsed);
      }
    }
    start_ = Clock::now();
    total_deadline_ = start_ + options.total_timeout;
    for (size_t i = 0; i < urls.size(); ++i) {
      results_[i].url = urls[i];
      results_[i].final_url = urls[i];
      auto& job = jobs_[i];
      job = std::make_unique<Job>();
      job->index = i;
      job->url = urls[i];
      ready_.push_back(job.get());
    }
    multi_ = curl_multi_init();
    // Every host at once (the first hops' hosts; a redirect's new host is looked up when met).
    for (const std::string& url : urls)
      if (auto parts = split_url(url)) resolver_.start(bare_host(parts->host), parts->port);
  }
  ~Fetcher() {
    for (auto& job : jobs_) release(job.get());
    for (auto& job : robots_jobs_) release(job.get());
    curl_multi_cleanup(multi_);
  }
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  std::vector<FetchResult> run() {
    while (true) {
      while (active_ < std::max<size_t>(1, options_.max_parallel) && !ready_.empty()) {
        Job* job = ready_.front();
        ready_.pop_front();
        start(job);
      }
      if (active_ == 0 && ready_.empty()) break;
      int running = 0;
      curl_multi_perform(multi_, &running);
      while (true) {
        int left = 0;
        CURLMsg* msg = curl_multi_info_read(multi_, &left);
        if (!msg) break;
        if (msg->msg != CURLMSG_DONE) continue;
        char* priv = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        finished(reinterpret_cast<Job*>(priv), msg->data.result);
      }
      const auto now = Clock::now();
      const bool cancelled = cancel_ && cancel_->load();
      if (cancelled || now >= total_deadline_) {
        abort_all(cancelled ? make_error(ErrorKind::kCancelled, "cancelled")
                            : make_error(ErrorKind::kTimeout, "total fetch deadline passed"));
        break;
      }
      if (active_ > 0) curl_multi_poll(multi_, nullptr, 0, 50, nullptr);
    }
    return std::move(results_);
  }

 private:
  void release(Job* job) {
    if (job->easy) {
      curl_multi_remove_handle(multi_, job->easy);
      curl_easy_cleanup(job->easy);
      job->easy = nullptr;
      --active_;
    }
    if (job->resolve) curl_slist_free_all(job->resolve);
    job->resolve = nullptr;
  }

  void fail(Job* job, Error error) {
    if (job->robots) {
      robots_done(job->origin, "");
      return;
    }
    FetchResult& r = results_[job->index];
    r.error = std::move(error);
    r.elapsed_ms = elapsed();
    done_[job->index] = true;
  }

  long long elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
  }

  void start(Job* job) {
    if (job->deadline == Clock::time_point{})
      job->deadline = std::min(total_deadline_, Clock::now() + options_.page_timeout);
    if (!job->robots) {
      results_[job->index].final_url = job->url;
      results_[job->index].status = 0;
    }
    auto parts = split_url(job->url);
    if (!parts) return fail(job, parts.error());
    if (!job->robots && options_.respect_robots) {
      Origin& origin = origins_[parts->origin];
      if (origin.state == Origin::kUnknown && options_.robots_cache)
        if (auto known = options_.robots_cache->get(parts->origin)) {
          origin.state = Origin::kReady;
          origin.robots = std::move(*known);
        }
      if (origin.state == Origin::kUnknown) {
        origin.state = Origin::kLoading;
        origin.waiting.push_back(job->index);
        auto robots = std::make_unique<Job>();
        robots->robots = true;
        robots->origin = parts->origin;
        robots->url = parts->scheme + "://" + parts->host + ":" + parts->port + "/robots.txt";
        robots->deadline = job->deadline;
        robots->check_type = false;
        ready_.push_front(robots.get());
        robots_jobs_.push_back(std::move(robots));
        return;
      }
      if (origin.state == Origin::kLoading) {
        origin.waiting.push_back(job->index);
        return;
      }
      if (!robots_allows(origin.robots, "chaja", parts->path))
        return fail(job,
                    make_error(ErrorKind::kForbidden, "robots.txt disallows fetching " + job->url));
    }
    const auto now = Clock::now();
    if (now >= job->deadline)
      return fail(job, make_error(ErrorKind::kTimeout, "page deadline passed: " + job->url));
    const std::string host_name = bare_host(parts->host);
    auto addresses = resolver_.wait(host_name, parts->port, job->deadline);
    if (!addresses)
      return fail(job, make_error(ErrorKind::kTimeout,
                                  "page deadline passed resolving " + host_name + ": " + job->url));
    if (!*addresses) return fail(job, addresses->error());
    auto address = checked_address(host_name, **addresses, allow_);
    if (!address) return fail(job, address.error());

    job->body.clear();
    job->type.clear();
    job->max_bytes = job->robots ? size_t{512} << 10 : options_.max_bytes;
    CURL* e = curl_easy_init();
    if (!e) return fail(job, make_error(ErrorKind::kInternal, "curl_easy_init failed"));
    job->easy = e;
    ++active_;
    std::string host = parts->host;
    const std::string pinned =
        address->find(':') != std::string::npos ? "[" + *address + "]" : *address;
    job->resolve = curl_slist_append(nullptr, (host + ":" + parts->port + ":" + pinned).c_str());
    const long remaining = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(job->deadline - now).count());
    curl_easy_setopt(e, CURLOPT_URL, job->url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, job);
    curl_easy_setopt(e, CURLOPT_RESOLVE, job->resolve);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, std::max(1L, remaining));
    curl_easy_setopt(
        e, CURLOPT_CONNECTTIMEOUT_MS,
        std::max(1L, std::min(remaining, static_cast<long>(options_.connect_timeout.count()))));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
    curl_multi_add_handle(multi_, e);
  }

  void robots_done(const std::string& origin_key, std::string text) {
    Origin& origin = origins_[origin_key];
    origin.state = Origin::kReady;
    origin.robots = std::move(text);
    for (size_t index : origin.waiting) ready_.push_front(jobs_[index].get());
    origin.waiting.clear();
  }

  void finished(Job* job, CURLcode code) {
    long status = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
    char* redirect = nullptr;
    curl_easy_getinfo(job->easy, CURLINFO_REDIRECT_URL, &redirect);
    const std::string next = redirect ? redirect : "";
    const std::string curl_error = curl_easy_strerror(code);
    char* ct = nullptr;
    curl_easy_getinfo(job->easy, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) {
      const std::string type = lower(ct);
      job->type = std::string(trim(std::string_view(type).substr(0, type.find(';'))));
      job->declared = charset_param(type);
    }
    release(job);
    if (!job->robots) results_[job->index].status = static_cast<int>(status);
    if (job->too_large)
      return fail(job, make_error(ErrorKind::kTooLarge, "page larger than " +
                                                            std::to_string(options_.max_bytes) +
                                                            " bytes: " + job->url));
    if (job->bad_type) {
      if (!job->robots) results_[job->index].content_type = job->type;
      return fail(job, make_error(ErrorKind::kUnsupported, "content type " + job->type +
                                                               " is not fetched (only HTML and "
                                                               "plain text): " +
                                                               job->url));
    }
    if (code == CURLE_OPERATION_TIMEDOUT)
      return fail(job, make_error(ErrorKind::kTimeout, "page deadline passed: " + job->url));
    if (code != CURLE_OK)
      return fail(job, make_error(code == CURLE_COULDNT_CONNECT ? ErrorKind::kUnavailable
                                                                : ErrorKind::kUpstream,
                                  curl_error + ": " + job->url));
    if (status >= 300 && status < 400 && !next.empty()) {
      if (job->hops >= options_.max_redirects)
        return fail(job, make_error(ErrorKind::kUpstream,
                                    "more than " + std::to_string(options_.max_redirects) +
                                        " redirects: " + job->url));
      ++job->hops;
      job->url = next;
      ready_.push_front(job);
      return;
    }
    if (job->robots) {
      const bool ok = status >= 200 && status < 300;
      if (options_.robots_cache && status < 500)
        options_.robots_cache->put(job->origin, ok ? job->body : "");
      robots_done(job->origin, ok ? job->body : "");
      return;
    }
    FetchResult& r = results_[job->index];
    r.content_type = job->type;
    if (status >= 400)
      return fail(job, make_error(status == 404 || status == 410 ? ErrorKind::kNotFound
                                                                 : ErrorKind::kUpstream,
                                  "HTTP " + std::to_string(status) + ": " + job->url));
    std::string declared = job->declared;
    if (declared.empty()) declared = meta_charset(job->body);
    declared = charset_alias(declared);
    auto decoded = decode_to_utf8(std::move(job->body), declared);
    if (!decoded) return fail(job, decoded.error());
    r.body = std::move(decoded->text);
    const std::string note = decoded->note;
    if (note.rfind("converted from ", 0) == 0)
      r.charset = lower(note.substr(15));
    else
      r.charset = declared.empty() ? "utf-8" : declared;
    r.elapsed_ms = elapsed();
    done_[job->index] = true;
  }

  void abort_all(const Error& error) {
    for (auto& job : jobs_)
      if (!done_[job->index]) fail(job.get(), error);
  }

  const FetchOptions& options_;
  const std::atomic<bool>* cancel_;
  ParallelResolver resolver_;
  FetchAllowList allow_;
  std::vector<FetchResult> results_;
  std::vector<std::unique_ptr<Job>> jobs_;
  std::vector<std::unique_ptr<Job>> robots_jobs_;
  std::map<size_t, bool> done_;
  std::map<std::string, Origin> origins_;
  std::deque<Job*> ready_;
  CURLM* multi_ = nullptr;
  size_t active_ = 0;
  Clock::time_point start_;
  Clock::time_point total_deadline_;
};

}  // namespace

std::vector<FetchResult> fetch_pages(const std::vector<std::string>& urls,
                                     const FetchOptions& options, const std::atomic<bool>* cancel) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Fetcher fetcher(urls, options, cancel);
  return fetcher.run();
}

}  // namespace chaja
