// Normalisation of web results, the backend registry and the fallback chain. The backends' wire
// formats live in web_search_backends.cpp.
#include "connectors/web_search.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>

#include "connectors/wire_json.h"

namespace chaja {

// Defined in web_search_backends.cpp.
Result<std::unique_ptr<WebSearch>> make_searxng_search(const Env& env,
                                                       const WebSearchSettings& settings);
Result<std::unique_ptr<WebSearch>> make_brave_search(const Env& env,
                                                     const WebSearchSettings& settings);
Result<std::unique_ptr<WebSearch>> make_tavily_search(const Env& env,
                                                      const WebSearchSettings& settings);

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one entity starting at s[0] == '&'; returns the bytes consumed (0: not an entity).
size_t decode_entity(std::string_view s, std::string& out) {
  const size_t semi = s.find(';');
  if (semi == std::string_view::npos || semi < 2 || semi > 10) return 0;
  const std::string_view body = s.substr(1, semi - 1);
  if (body[0] == '#') {
    uint32_t cp = 0;
    const bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    const std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    for (char c : digits) {
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      if (cp > 0x10FFFF) cp = 0x110000;
    }
    append_utf8(out, cp);
    return semi + 1;
  }
  static const std::pair<std::string_view, std::string_view> kNamed[] = {
      {"amp", "&"},         {"lt", "<"},          {"gt", ">"},         {"quot", "\""},
      {"apos", "'"},        {"nbsp", " "},        {"ndash", "\u2013"}, {"mdash", "\u2014"},
      {"hellip", "\u2026"}, {"lsquo", "\u2018"},  {"rsquo", "\u2019"}, {"ldquo", "\u201c"},
      {"rdquo", "\u201d"},  {"middot", "\u00b7"}, {"copy", "\u00a9"},  {"reg", "\u00ae"}};
  for (const auto& [name, text] : kNamed) {
    if (body == name) {
      out += text;
      return semi + 1;
    }
  }
  return 0;
}

std::string url_key(std::string_view url) {
  std::string key(url.substr(0, url.find('#')));
  const size_t scheme_end = key.find("://");
  if (scheme_end != std::string::npos) {
    const size_t host_end = key.find_first_of("/?", scheme_end + 3);
    const size_t n = host_end == std::string::npos ? key.size() : host_end;
    for (size_t i = 0; i < n; ++i)
      key[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(key[i])));
  }
  while (!key.empty() && key.back() == '/') key.pop_back();
  return key;
}

}  // namespace

std::string web_plain_text(std::string_view html) {
  std::string text;
  text.reserve(html.size());
  for (size_t i = 0; i < html.size();) {
    const char c = html[i];
    if (c == '<') {
      // A tag starts with a letter, '/', '!' or '?'; anything else is a literal '<'.
      const char next = i + 1 < html.size() ? html[i + 1] : '\0';
      if (std::isalpha(static_cast<unsigned char>(next)) || next == '/' || next == '!' ||
          next == '?') {
        const size_t close = html.find('>', i);
        if (close != std::string_view::npos) {
          const std::string tag = lower(html.substr(i + 1, std::min<size_t>(close - i - 1, 4)));
          // Block-level breaks become spaces; inline tags (<strong>) vanish.
          if (tag.starts_with("br") || tag.starts_with("p") || tag.starts_with("/p") ||
              tag.starts_with("div") || tag.starts_with("/div") || tag.starts_with("li"))
            text += ' ';
          i = close + 1;
          continue;
        }
      }
    }
    if (c == '&') {
      const size_t used = decode_entity(html.substr(i), text);
      if (used > 0) {
        i += used;
        continue;
      }
    }
    text += c;
    ++i;
  }
  std::string out = wire::quote(text, text.size() + 16);
  // quote() turns controls into spaces; also fold the no-break space into a plain one.
  std::string folded;
  folded.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<unsigned char>(out[i]) == 0xC2 && i + 1 < out.size() &&
        static_cast<unsigned char>(out[i + 1]) == 0xA0) {
      if (folded.empty() || folded.back() != ' ') folded += ' ';
      ++i;
      continue;
    }
    folded += out[i];
  }
  while (!folded.empty() && folded.back() == ' ') folded.pop_back();
  while (!folded.empty() && folded.front() == ' ') folded.erase(0, 1);
  return folded;
}

std::string web_url_host(std::string_view url) {
  const std::string head = lower(url.substr(0, 8));
  size_t start = 0;
  if (head.starts_with("https://")) {
    start = 8;
  } else if (head.starts_with("http://")) {
    start = 7;
  } else {
    return "";
  }
  std::string_view rest = url.substr(start);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    const size_t end = rest.find(']');
    return end == std::string_view::npos ? "" : lower(rest.substr(0, end + 1));
  }
  rest = rest.substr(0, rest.find(':'));
  for (char ch : rest)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == '\\') return "";
  return lower(rest);
}

bool web_host_matches(std::string_view host, std::string_view domain) {
  std::string d = lower(domain);
  while (!d.empty() && (d.front() == '.' || d.front() == ' ')) d.erase(0, 1);
  while (!d.empty() && (d.back() == '.' || d.back() == ' ' || d.back() == '/')) d.pop_back();
  if (d.starts_with("www.")) d.erase(0, 4);
  std::string h = lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (d.empty() || h.empty()) return false;
  if (h == d) return true;
  return h.size() > d.size() && h.ends_with(d) && h[h.size() - d.size() - 1] == '.';
}

std::vector<WebResult> normalise_web_results(std::vector<WebResult> results,
                                             const WebQuery& query) {
  const size_t count = static_cast<size_t>(std::clamp(query.count, 1, 20));
  std::vector<WebResult> out;
  std::set<std::string> seen;
  for (auto& r : results) {
    if (out.size() >= count) break;
    std::string url = wire::quote(r.url, 8192);
    const std::string host = web_url_host(url);
    if (host.empty() || url.find(' ') != std::string::npos) continue;
    if (!query.include_domains.empty() &&
        std::none_of(query.include_domains.begin(), query.include_domains.end(),
                     [&](const std::string& d) { return web_host_matches(host, d); }))
      continue;
    if (std::any_of(query.exclude_domains.begin(), query.exclude_domains.end(),
                    [&](const std::string& d) { return web_host_matches(host, d); }))
      continue;
    if (!seen.insert(url_key(url)).second) continue;
    WebResult clean;
    clean.url = std::move(url);
    clean.title = web_plain_text(r.title);
    clean.snippet = web_plain_text(r.snippet);
    clean.published = wire::quote(r.published, 200);
    clean.engine = wire::quote(r.engine, 300);
    if (clean.title.empty()) clean.title = host;
    out.push_back(std::move(clean));
  }
  return out;
}

WebSearchRegistry WebSearchRegistry::with_builtins() {
  WebSearchRegistry r;
  r.add("searxng", make_searxng_search);
  r.add("brave", make_brave_search);
  r.add("tavily", make_tavily_search);
  return r;
}

void WebSearchRegistry::add(const std::string& name, WebSearchFactory factory) {
  if (!factories_.contains(name)) order_.push_back(name);
  factories_[name] = std::move(factory);
}

Result<std::unique_ptr<WebSearch>> WebSearchRegistry::make(
    const std::string& name, const Env& env, const WebSearchSettings& settings) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& n : order_) known += (known.empty() ? "" : ", ") + n;
    return make_error(ErrorKind::kNotFound, "unknown web search backend '" + wire::quote(name, 60) +
                                                "' (known: " + known + ")");
  }
  return it->second(env, settings);
}

std::vector<std::string> WebSearchChain::names() const {
  std::vector<std::string> out;
  for (const auto& b : backends_) out.push_back(b->name());
  return out;
}

Result<WebSearchAnswer> WebSearchChain::search(const WebQuery& query, const CancelFlag* cancel) {
  WebSearchAnswer answer;
  if (backends_.empty())
    return make_error(ErrorKind::kUnavailable, "web search: no backend configured");
  std::optional<Error> last_error;
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (cancel && cancel->load()) return make_error(ErrorKind::kCancelled, "web search cancelled");
    WebSearch& backend = *backends_[i];
    auto res = backend.search(query, cancel);
    if (!res.ok()) {
      if (res.error().kind == ErrorKind::kCancelled) return res.error();
      if (res.error().kind == ErrorKind::kInvalidInput) return res.error();
      Error e = res.error();
      if (!e.message.starts_with(backend.name())) e.message = backend.name() + ": " + e.message;
      last_error = e;
      answer.failures.push_back(std::move(e));
      continue;
    }
    if (res->empty() && i + 1 < backends_.size()) {
      answer.failures.push_back(make_error(ErrorKind::kNotFound, backend.name() + ": no results"));
      continue;
    }
    answer.results = std::move(*res);
    answer.backend = backend.name();
    return answer;
  }
  // Every backend failed (the last one with an error).
  std::string message = "web search: every backend failed: ";
  for (size_t i = 0; i < answer.failures.size(); ++i)
    message += (i ? "; " : "") + answer.failures[i].message;
  return make_error(last_error ? last_error->kind : ErrorKind::kUpstream, message);
}

Result<std::unique_ptr<WebSearchChain>> make_web_search_chain(const Env& env,
                                                              const std::string& order,
                                                              const WebSearchSettings& settings,
                                                              const WebSearchRegistry& registry) {
  std::vector<std::string> names;
  bool explicit_order = false;
  for (size_t pos = 0; pos <= order.size();) {
    size_t comma = order.find(',', pos);
    if (comma == std::string::npos) comma = order.size();
    std::string name = lower(order.substr(pos, comma - pos));
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (!name.empty()) {
      explicit_order = true;
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    pos = comma + 1;
  }
  std::vector<std::unique_ptr<WebSearch>> backends;
  if (explicit_order) {
    for (const auto& name : names) {
      auto b = registry.make(name, env, settings);
      if (!b.ok()) return b.error();
      backends.push_back(std::move(*b));
    }
  } else {
    std::string why;
    for (const auto& name : registry.names()) {
      auto b = registry.make(name, env, settings);
      if (b.ok()) {
        backends.push_back(std::move(*b));
      } else {
        why += (why.empty() ? "" : "; ") + b.error().message;
      }
    }
    if (backends.empty())
      return make_error(ErrorKind::kUnavailable, "no web search backend configured: " + why);
  }
  return std::make_unique<WebSearchChain>(std::move(backends));
}

}  // namespace chaja
