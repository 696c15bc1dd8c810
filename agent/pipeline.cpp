#include "agent/pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <unordered_map>

#include "agent/citations.h"
#include "agent/extractive.h"
#include "agent/followup.h"
#include "agent/json_api.h"
#include "connectors/wire_json.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

namespace chaja {
namespace {

constexpr size_t kMaxDomainFilters = 20;
constexpr size_t kHistoryTurnsRead = 20;  // a thread's newest turns loaded for a follow-up
constexpr auto kRewriteTimeout = std::chrono::seconds(10);

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

// The texts a citation stands for: every passage of its document or page (an extractive
// citation names the document, a model's the passage; the union serves both).
std::vector<std::string> cited_texts(const std::vector<Citation>& citations,
                                     const std::vector<Passage>& passages) {
  std::vector<std::string> out;
  for (const Citation& c : citations) {
    std::string text;
    for (const Passage& p : passages) {
      const bool same = c.kind == SourceKind::kWeb
                            ? p.kind == SourceKind::kWeb && p.source == c.source
                            : p.kind == SourceKind::kLocal && p.doc_id == c.doc_id;
      if (same) text += p.text + "\n";
    }
    out.push_back(std::move(text));
  }
  return out;
}

// The answer as the caller sees it: the search steps first, then the model's (or extractive)
// events; on the way out the answer's claims are checked against what they cite, and the turn
// is written to its thread before Done reaches the caller.
class AgentStream final : public AnswerStream {
 public:
  AgentStream(std::deque<AnswerEvent> steps, std::unique_ptr<AnswerStream> inner,
              ThreadStore* threads, std::string thread_id, std::string question,
              std::vector<Passage> passages)
      : steps_(std::move(steps)),
        inner_(std::move(inner)),
        threads_(threads),
        thread_id_(std::move(thread_id)),
        question_(std::move(question)),
        passages_(std::move(passages)) {}

  std::optional<AnswerEvent> next() override {
    if (!steps_.empty()) {
      AnswerEvent e = std::move(steps_.front());
      steps_.pop_front();
      return e;
    }
    auto e = inner_->next();
    if (e)
      if (auto* done = std::get_if<DoneEvent>(&*e)) finish(done->response);
    return e;
  }

  bool wait_for(std::chrono::milliseconds timeout) override {
    return !steps_.empty() || inner_->wait_for(timeout);
  }

 private:
  void finish(AskResponse& r) {
    r.claims = verify_claims(r.answer, cited_texts(r.citations, passages_));
    if (thread_id_.empty()) return;
    ThreadTurn turn;
    turn.question = question_;
    turn.query = r.query;
    turn.answer = r.answer;
    turn.citations_json = citations_json_text(r.citations);
    turn.related_json = strings_json_text(r.related_questions);
    turn.model = r.model;
    auto stored = threads_->append(thread_id_, std::move(turn));
    if (stored)
      r.thread_id = thread_id_;
    else
      r.warnings.push_back("the answer was not added to its thread: " + stored.error().message);
  }

  std::deque<AnswerEvent> steps_;
  std::unique_ptr<AnswerStream> inner_;
  ThreadStore* threads_;
  std::string thread_id_;
  std::string question_;
  std::vector<Passage> passages_;
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

Status check_history(const std::vector<HistoryTurn>& history) {
  if (history.size() > kMaxHistoryTurns)
    return make_error(ErrorKind::kInvalidInput, "at most " + std::to_string(kMaxHistoryTurns) +
                                                    " earlier turns may be given");
  for (const HistoryTurn& t : history) {
    if (!utf8::is_valid(t.question) || !utf8::is_valid(t.answer))
      return make_error(ErrorKind::kInvalidInput, "an earlier turn is not valid UTF-8");
    if (t.question.size() + t.answer.size() > kMaxHistoryTurnBytes)
      return make_error(ErrorKind::kTooLarge, "an earlier turn is longer than " +
                                                  std::to_string(kMaxHistoryTurnBytes) + " bytes");
  }
  return {};
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

Result<std::vector<Passage>> Answerer::web_passages(const AskRequest& request,
                                                    const std::string& query_text,
                                                    AskResponse& base,
                                                    std::deque<AnswerEvent>& steps) {
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
  search.query = query_text;
  search.k = std::max(request.k, kLocalPoolSize);
  search.collection = request.collection;
  auto local = retriever_.search(search);
  const bool have_collection = local.ok();
  if (!local &&
      !(local.error().kind == ErrorKind::kNotFound && request.collection == kDefaultCollection))
    return local.error();
  t.retrieval_ms = ms_since(start);

  if (have_collection) steps.emplace_back(StepEvent{"search", query_text});
  steps.emplace_back(StepEvent{"web_search", query_text});
  WebQuery query;
  query.text = query_text;
  query.language = contains_hangul(query_text) ? "ko" : "";
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
    steps.emplace_back(StepEvent{
        "read", std::to_string(found->pages) + (found->pages == 1 ? " page" : " pages") +
                    (found->cached > 0 ? " (" + std::to_string(found->cached) + " cached)" : "")});
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
  const PoolRanking ranking = rank_pool(query_text, pool, **cutter, embed, {}, request.k);
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

std::string Answerer::standalone_query(const std::string& question,
                                       const std::vector<HistoryTurn>& history,
                                       const std::vector<ModelName>& chain) {
  // The first model of the chain rewrites, briefly; the rule stands in when it cannot.
  for (const ModelName& name : chain) {
    if (name.provider == "extractive" || !models_) break;
    auto model = models_(name);
    if (!model) break;
    auto result = chat_within(**model, rewrite_prompt(question, history), kRewriteTimeout);
    if (result) {
      std::string query = clean_rewrite(result->text);
      if (!query.empty() && utf8::length(query) <= kMaxQueryChars) return query;
    }
    break;
  }
  return rule_standalone_query(question, history);
}

Result<std::unique_ptr<AnswerStream>> Answerer::start(const AskRequest& request) {
  if (Status s = check_query(request.query, request.k); !s) return s.error();
  auto chain = parse_model_chain(request.model.empty() ? default_model_ : request.model);
  if (!chain) return chain.error();
  if (Status s = check_web_filters(request); !s) return s.error();
  if (Status s = check_history(request.history); !s) return s.error();

  // The conversation so far: the stored thread's turns, then the caller's.
  std::vector<HistoryTurn> history;
  std::string thread_id;
  if (request.thread_id) {
    if (!threads_)
      return make_error(ErrorKind::kUnsupported, "threads are not kept by this server");
    auto thread = threads_->get(*request.thread_id, kHistoryTurnsRead);
    if (!thread) return thread.error();
    for (const ThreadTurn& t : thread->turns) history.push_back({t.question, t.answer});
    thread_id = thread->id;
  }
  history.insert(history.end(), request.history.begin(), request.history.end());

  AskResponse base;
  std::deque<AnswerEvent> steps;
  std::string query = request.query;
  if (!history.empty()) {
    query = standalone_query(request.query, history, *chain);
    if (query != request.query) {
      base.query = query;
      steps.emplace_back(StepEvent{"rewrite", query});
    }
  }

  std::vector<Passage> passages;
  if (request.web) {
    auto found = web_passages(request, query, base, steps);
    if (!found) return found.error();
    passages = std::move(*found);
  } else {
    const auto start = Clock::now();
    steps.emplace_back(StepEvent{"search", query});
    SearchRequest search;
    search.query = query;
    search.k = request.k;
    search.collection = request.collection;
    auto retrieved = retriever_.search(search);
    if (!retrieved) return retrieved.error();
    for (RetrievedHit& r : *retrieved) passages.push_back(local_passage(std::move(r.hit)));
    base.timings.retrieval_ms = ms_since(start);
  }

  // A new conversation gets its thread now, so the answer can name it.
  if (threads_ && thread_id.empty()) {
    auto created = threads_->create(request.collection, "");
    if (created)
      thread_id = *created;
    else
      base.warnings.push_back("the thread could not be created: " + created.error().message);
  }

  AnswerContext context{request.query, query == request.query ? "" : query, std::move(history),
                        std::move(passages)};
  std::vector<Passage> kept = context.passages;  // what the claims are checked against
  std::unique_ptr<AnswerStream> inner;
  if (chain->size() > 1 || chain->front().provider != "extractive") {
    auto stream = model_answer_stream(*chain, models_, std::move(context), std::move(base));
    if (!stream) return stream.error();
    inner = std::move(*stream);
  } else {
    inner.reset(
        new ReadyStream(extractive_events(context.searched(), context.passages, std::move(base))));
  }
  return std::unique_ptr<AnswerStream>(new AgentStream(std::move(steps), std::move(inner), threads_,
                                                       std::move(thread_id), request.query,
                                                       std::move(kept)));
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
