#include "agent/pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <unordered_map>

#include "agent/extractive.h"
#include "connectors/wire_json.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

namespace chaja {
namespace {

constexpr size_t kMaxDomainFilters = 20;

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A stream whose events are all known up front (the extractive model answers at once).
class ReadyStream final : public AnswerStream {
 public:
  explicit ReadyStream(std::deque<AnswerEvent> events) : events_(std::move(events)) {}
  std::optional<AnswerEvent> next() override {
    if (events_.empty()) return std::nullopt;
    AnswerEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

 private:
  std::deque<AnswerEvent> events_;
};

bool is_blank(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    if (!utf8::is_space(utf8::decode(s, i, len))) return false;
    i += len;
  }
  return true;
}

}  // namespace

Status check_query(const std::string& query, size_t k) {
  if (is_blank(query)) return make_error(ErrorKind::kInvalidInput, "the query is empty");
  if (!utf8::is_valid(query))
    return make_error(ErrorKind::kInvalidInput, "the query is not valid UTF-8");
  if (utf8::length(query) > kMaxQueryChars)
    return make_error(ErrorKind::kInvalidInput,
                      "the query is longer than " + std::to_string(kMaxQueryChars) + " characters");
  if (k == 0 || k > kMaxK)
    return make_error(ErrorKind::kInvalidInput, "k must be between 1 and " + std::to_string(kMaxK));
  return {};
}

Result<std::vector<RetrievedHit>> Answerer::search(const SearchRequest& request) {
  if (Status s = check_query(request.query, request.k); !s) return s.error();
  return retriever_.search(request);
}

Result<WebRecency> parse_recency(std::string_view text) {
  if (text == "day") return WebRecency::kDay;
  if (text == "week") return WebRecency::kWeek;
  if (text == "month") return WebRecency::kMonth;
  if (text == "year") return WebRecency::kYear;
  return make_error(
      ErrorKind::kInvalidInput,
      "the recency filter is one of day, week, month, year; not '" + wire::quote(text, 40) + "'");
}

Status check_web_filters(const AskRequest& request) {
  if (!request.web && (!request.include_domains.empty() || !request.exclude_domains.empty() ||
                       request.recency != WebRecency::kNone))
    return make_error(ErrorKind::kInvalidInput,
                      "domain and recency filters apply to web search: ask with the web on");
  for (const auto* list : {&request.include_domains, &request.exclude_domains}) {
    if (list->size() > kMaxDomainFilters)
      return make_error(ErrorKind::kInvalidInput, "at most " + std::to_string(kMaxDomainFilters) +
                                                      " domains may be allowed or denied");
    for (const std::string& d : *list) {
      const bool ok = !d.empty() && d.size() <= 253 && d.front() != '.' && d.back() != '.' &&
                      std::all_of(d.begin(), d.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
                      });
      if (!ok)
        return make_error(ErrorKind::kInvalidInput,
                          "a domain filter must be a host name like example.com, not '" +
                              wire::quote(d, 80) + "'");
    }
  }
  return {};
}

Result<std::vector<Passage>> Answerer::web_passages(const AskRequest& request, AskResponse& base) {
  if (!web_)
    return web_unavailable_ ? *web_unavailable_
                            : make_error(ErrorKind::kUnavailable,
                                         "web search is not configured: set SEARXNG_URL, "
                                         "BRAVE_API_KEY or TAVILY_API_KEY");
  AnswerTimings& t = base.timings;
  auto start = Clock::now();
  // The collection's best passages join the web's. Without a collection the web answers alone
  // (the default collection only: a named one that does not exist is a mistake to report).
  SearchRequest search;
  search.query = request.query;
  search.k = std::max(request.k, kLocalPoolSize);
  search.collection = request.collection;
  auto local = retriever_.search(search);
  const bool have_collection = local.ok();
  if (!local &&
      !(local.error().kind == ErrorKind::kNotFound && request.collection == kDefaultCollection))
    return local.error();
  t.retrieval_ms = ms_since(start);

  WebQuery query;
  query.text = request.query;
  query.language = contains_hangul(request.query) ? "ko" : "";
  query.recency = request.recency;
  query.include_domains = request.include_domains;
  query.exclude_domains = request.exclude_domains;
  auto found = web_->find(query);
  std::vector<Passage> web;
  if (found) {
    t.web_search_ms = found->search_ms;
    t.web_fetch_ms = found->fetch_ms;
    t.web_extract_ms = found->extract_ms;
    t.web_pages = found->pages;
    t.web_cached = found->cached;
    t.web_failed = found->failed;
    for (std::string& note : found->notes) base.warnings.push_back(std::move(note));
    if (found->passages.empty())
      base.warnings.push_back(
          request.include_domains.empty() && request.exclude_domains.empty() &&
                  request.recency == WebRecency::kNone
              ? "the web search found nothing usable"
              : "the web search found nothing usable within the domain and recency filters");
    web = std::move(found->passages);
  } else if (have_collection && !local->empty()) {
    base.warnings.push_back("web search failed, answering from the collection alone: " +
                            found.error().message);
  } else {
    return found.error();
  }

  // One ranking over both: each page is one group, as each document is.
  start = Clock::now();
  std::vector<Passage> all;
  std::vector<PoolPassage> pool;
  if (have_collection)
    for (RetrievedHit& r : *local) {
      PoolPassage p;
      p.group = r.hit.doc_id;
      p.title = r.hit.title + " " + r.hit.section;
      p.text = r.hit.text;
      if (r.dense_rank > 0) p.dense_score = r.dense_score;
      pool.push_back(std::move(p));
      all.push_back(local_passage(std::move(r.hit)));
    }
  std::unordered_map<std::string, int64_t> page_group;
  for (Passage& w : web) {
    PoolPassage p;
    p.group =
        page_group.emplace(w.source, -static_cast<int64_t>(page_group.size()) - 1).first->second;
    p.title = w.title + " " + w.section;
    p.text = w.text;
    pool.push_back(std::move(p));
    all.push_back(std::move(w));
  }
  auto cutter = retriever_.store().term_cutter();
  if (!cutter) return cutter.error();
  // The collection's vector space; without one, the builtin embedder learns from the pool.
  EmbedFn embed;
  if (have_collection)
    embed = [this, &request](const std::vector<std::string>& texts, EmbedKind kind) {
      return retriever_.embed(request.collection, texts, kind);
    };
  else
    embed = pool_builtin_embedder(pool);
  const PoolRanking ranking = rank_pool(request.query, pool, **cutter, embed, {}, request.k);
  if (ranking.dense_error)
    base.warnings.push_back("ranked by keywords alone: " + ranking.dense_error->message);
  std::vector<Passage> passages;
  for (const RankedCandidate& c : ranking.ranked) {
    Passage& p = all[static_cast<size_t>(c.chunk_id - 1)];
    p.score = c.fused;
    passages.push_back(std::move(p));
  }
  t.rank_ms = ms_since(start);
  return passages;
}

Result<std::unique_ptr<AnswerStream>> Answerer::start(const AskRequest& request) {
  if (Status s = check_query(request.query, request.k); !s) return s.error();
  auto chain = parse_model_chain(request.model.empty() ? default_model_ : request.model);
  if (!chain) return chain.error();
  if (request.thread_id)
    return make_error(ErrorKind::kUnsupported,
                      "threads are not in this build yet; ask without thread_id");
  if (Status s = check_web_filters(request); !s) return s.error();

  AskResponse base;
  std::vector<Passage> passages;
  if (request.web) {
    auto found = web_passages(request, base);
    if (!found) return found.error();
    passages = std::move(*found);
  } else {
    const auto start = Clock::now();
    SearchRequest search;
    search.query = request.query;
    search.k = request.k;
    search.collection = request.collection;
    auto retrieved = retriever_.search(search);
    if (!retrieved) return retrieved.error();
    for (RetrievedHit& r : *retrieved) passages.push_back(local_passage(std::move(r.hit)));
    base.timings.retrieval_ms = ms_since(start);
  }
  if (chain->size() > 1 || chain->front().provider != "extractive")
    return model_answer_stream(*chain, models_, request.query, std::move(passages),
                               std::move(base));
  return std::unique_ptr<AnswerStream>(
      new ReadyStream(extractive_events(request.query, passages, std::move(base))));
}

Result<AskResponse> Answerer::ask(const AskRequest& request) {
  auto stream = start(request);
  if (!stream) return stream.error();
  while (auto event = (*stream)->next()) {
    if (auto* done = std::get_if<DoneEvent>(&*event)) return std::move(done->response);
    if (auto* err = std::get_if<ErrorEvent>(&*event)) return err->error;
  }
  return make_error(ErrorKind::kInternal, "the answer stream ended without a result");
}

}  // namespace chaja
