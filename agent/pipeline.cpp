#include "agent/pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "agent/citations.h"
#include "agent/event_queue.h"
#include "agent/extractive.h"
#include "agent/followup.h"
#include "agent/json_api.h"
#include "agent/search_plan.h"
#include "connectors/wire_json.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

namespace chaja {
namespace {

constexpr size_t kMaxDomainFilters = 20;
constexpr size_t kHistoryTurnsRead = 20;  // a thread's newest turns loaded for a follow-up
// A helper call (rewrite, plan, bridge) that takes longer is given up for the rule.
constexpr auto kHelperTimeout = std::chrono::seconds(10);
constexpr size_t kPerDocumentCap = 2;  // passages of one document after fusing several searches

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

}  // namespace

// The answer as the caller sees it. Its thread makes the helper calls and the searches (each a
// step event as it happens), then forwards the answer's events; on the way out the answer's
// claims are checked against what they cite, and the turn is written to its thread before Done
// reaches the caller. Destroying the stream cancels whatever is under way and joins.
class Answerer::AgentStream final : public AnswerStream {
 public:
  AgentStream(Answerer& answerer, AnswerJob job) : answerer_(answerer), job_(std::move(job)) {
    worker_ = std::thread([this] { run(); });
  }
  ~AgentStream() override {
    cancel_ = true;
    worker_.join();
  }

  std::optional<AnswerEvent> next() override { return events_.next(); }
  bool wait_for(std::chrono::milliseconds timeout) override { return events_.wait_for(timeout); }

 private:
  void push(AnswerEvent e) { events_.push(std::move(e)); }

  void run() {
    auto inner = answerer_.answer(
        job_, [this](StepEvent e) { push(std::move(e)); }, &cancel_);
    if (!inner) {
      push(ErrorEvent{inner.error()});
    } else {
      // Forward, looking up now and then so that a cancelled stream stops waiting.
      while (!cancel_) {
        if (!(*inner)->wait_for(std::chrono::milliseconds(50))) continue;
        auto e = (*inner)->next();
        if (!e) break;
        if (auto* done = std::get_if<DoneEvent>(&*e)) finish(done->response);
        push(std::move(*e));
      }
    }
    events_.close();
  }

  void finish(AskResponse& r) {
    r.claims = verify_claims(r.answer, cited_texts(r.citations, job_.passages));
    ThreadStore* threads = answerer_.threads_;
    if (job_.thread_id.empty() || !threads) return;
    ThreadTurn turn;
    turn.question = job_.request.query;
    turn.query = r.query;
    turn.answer = r.answer;
    turn.citations_json = citations_json_text(r.citations);
    turn.related_json = strings_json_text(r.related_questions);
    turn.model = r.model;
    auto stored = threads->append(job_.thread_id, std::move(turn));
    if (stored)
      r.thread_id = job_.thread_id;
    else
      r.warnings.push_back("the answer was not added to its thread: " + stored.error().message);
  }

  Answerer& answerer_;
  AnswerJob job_;
  CancelFlag cancel_{false};
  EventQueue events_;
  std::thread worker_;  // last: started once everything above exists
};

namespace {

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
                                                    AskResponse& base, const StepSink& step,
                                                    const CancelFlag* cancel) {
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
  search.filter = request.filter;  // the collection's passages only: web pages are not filtered
  Result<std::vector<RetrievedHit>> local =
      make_error(ErrorKind::kNotFound, "the local index is off for this question");
  if (request.local) local = retriever_.search(search);
  const bool have_collection = local.ok();
  if (!local && request.local &&
      !(local.error().kind == ErrorKind::kNotFound && request.collection == kDefaultCollection))
    return local.error();
  t.retrieval_ms = ms_since(start);

  if (have_collection) step(StepEvent{"search", query_text});
  step(StepEvent{"web_search", query_text});
  WebQuery query;
  query.text = query_text;
  query.language = contains_hangul(query_text) ? "ko" : "";
  query.recency = request.recency;
  query.include_domains = request.include_domains;
  query.exclude_domains = request.exclude_domains;
  auto found = web_->find(query, cancel);
  std::vector<Passage> web;
  if (found) {
    t.web_search_ms = found->search_ms;
    t.web_fetch_ms = found->fetch_ms;
    t.web_extract_ms = found->extract_ms;
    t.web_pages = found->pages;
    t.web_cached = found->cached;
    t.web_failed = found->failed;
    for (std::string& note : found->notes) base.warnings.push_back(std::move(note));
    step(StepEvent{
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

std::unique_ptr<ChatModel> Answerer::helper_model(const std::vector<ModelName>& chain) const {
  if (!models_ || chain.empty() || chain.front().provider == "extractive") return nullptr;
  auto model = models_(chain.front());
  return model ? std::move(*model) : nullptr;
}

std::string Answerer::standalone_query(const std::string& question,
                                       const std::vector<HistoryTurn>& history,
                                       const std::vector<ModelName>& chain, bool& helper_down,
                                       const CancelFlag* cancel) {
  // The first model of the chain rewrites, briefly; the rule stands in when it cannot.
  if (auto model = helper_down ? nullptr : helper_model(chain)) {
    auto result = chat_within(*model, rewrite_prompt(question, history), kHelperTimeout, cancel);
    helper_down = !result;
    if (result) {
      std::string query = clean_rewrite(result->text);
      if (!query.empty() && utf8::length(query) <= kMaxQueryChars) return query;
    }
  }
  return rule_standalone_query(question, history);
}

Result<std::vector<Passage>> Answerer::local_passages(
    const AskRequest& request, const std::string& query, const std::vector<ModelName>& chain,
    bool helper_down, AskResponse& base, const StepSink& step, const CancelFlag* cancel) {
  const auto start = Clock::now();
  const size_t pool = std::max(request.k, kLocalPoolSize);
  // A metadata filter is resolved once: every search below (the plan's, the bridges') takes
  // only the same documents.
  std::shared_ptr<const AllowedDocuments> allowed;
  if (!request.filter.empty()) {
    auto resolved = retriever_.store().filter_documents(request.collection, request.filter);
    if (!resolved) return resolved.error();
    allowed = std::make_shared<const AllowedDocuments>(std::move(*resolved));
  }
  std::unordered_map<int64_t, SearchHit> hits;  // by chunk id
  std::vector<std::vector<int64_t>> lists;
  std::vector<std::string> searched;
  auto search = [&](const std::string& q) -> Status {
    step(StepEvent{"search", q});
    searched.push_back(q);
    SearchRequest s;
    s.query = q;
    s.k = pool;
    s.collection = request.collection;
    s.filter = request.filter;
    s.allowed = allowed;
    auto found = retriever_.search(s);
    if (!found) return found.error();
    std::vector<int64_t> ids;
    for (RetrievedHit& r : *found) {
      ids.push_back(r.hit.chunk_id);
      hits.emplace(r.hit.chunk_id, std::move(r.hit));
    }
    lists.push_back(std::move(ids));
    return {};
  };
  auto best_texts = [&](size_t n) {
    std::vector<std::string> texts;
    for (int64_t id : fuse_rankings(lists, n)) texts.push_back(hits.at(id).text);
    return texts;
  };
  if (Status s = search(query); !s) return s.error();

  // More queries: a translation into the documents' language, the parts of a compound
  // question (by the model when there is one, else by rule: parts only).
  // A helper that failed once this answer is not asked again (each try could cost its deadline).
  std::unique_ptr<ChatModel> helper = helper_down ? nullptr : helper_model(chain);
  // The first bridge question is asked at once, beside the plan, over the question's own best
  // passages: two helper calls one after the other were most of the time to the first token
  // (bench_ttft). Its answer is used when the plan's searches left those passages as they were;
  // otherwise the question is asked again over what the plan found. (Declared before the future:
  // the future waits for the call in its destructor, on every path out.)
  std::unique_ptr<ChatModel> early_model = helper ? helper_model(chain) : nullptr;
  const std::vector<std::string> early_texts = best_texts(5);
  std::future<Result<ChatResult>> early_bridge;
  if (early_model)
    early_bridge = std::async(std::launch::async, [&] {
      return chat_within(*early_model, bridge_prompt(query, early_texts), kHelperTimeout, cancel);
    });
  std::vector<std::string> plan;
  if (helper) {
    std::vector<std::string> languages = document_languages(best_texts(10));
    if (languages.empty()) languages = {"ko", "en"};
    auto planned = chat_within(*helper, plan_prompt(query, languages), kHelperTimeout, cancel);
    plan = planned ? parse_plan(planned->text, query) : rule_plan(query);
    if (!planned) helper.reset();
  } else {
    plan = rule_plan(query);
  }
  if (plan.size() > 1) {
    std::string shown;
    for (size_t i = 1; i < plan.size(); ++i) shown += (i > 1 ? " | " : "") + plan[i];
    step(StepEvent{"plan", shown});
    for (size_t i = 1; i < plan.size(); ++i)
      if (Status s = search(plan[i]); !s) return s.error();
  }
  // A bridge: what was found names something the question could only describe.
  for (size_t round = 0; helper && round < kMaxBridgeSteps; ++round) {
    const std::vector<std::string> seen = best_texts(5);
    auto answer = round == 0 && early_bridge.valid() && seen == early_texts
                      ? early_bridge.get()
                      : chat_within(*helper, bridge_prompt(query, seen), kHelperTimeout, cancel);
    if (!answer) break;
    auto next = parse_bridge(answer->text, query, searched);
    if (!next) break;
    if (Status s = search(*next); !s) return s.error();
  }

  // One list: each query's best passage first (a part of a compound question or a translation
  // must not be outvoted by the others), then the rest by reciprocal rank; at most two passages
  // of a document.
  std::vector<int64_t> order;
  std::unordered_set<int64_t> taken;
  if (lists.size() > 1)
    for (const auto& list : lists)
      for (int64_t id : list)
        if (taken.insert(id).second) {
          order.push_back(id);
          break;
        }
  for (int64_t id : fuse_rankings(lists))
    if (taken.insert(id).second) order.push_back(id);
  std::vector<Passage> passages;
  std::unordered_map<int64_t, size_t> per_doc;
  for (int64_t id : order) {
    if (passages.size() == request.k) break;
    SearchHit& h = hits.at(id);
    if (lists.size() > 1 && per_doc[h.doc_id]++ >= kPerDocumentCap) continue;
    passages.push_back(local_passage(std::move(h)));
  }
  base.timings.retrieval_ms = ms_since(start);
  return passages;
}

Result<std::unique_ptr<AnswerStream>> Answerer::start(const AskRequest& request) {
  if (Status s = check_query(request.query, request.k); !s) return s.error();
  auto chain = parse_model_chain(request.model.empty() ? default_model_ : request.model);
  if (!chain) return chain.error();
  if (Status s = check_web_filters(request); !s) return s.error();
  if (Status s = check_history(request.history); !s) return s.error();
  if (Status s = check_metadata_filter(request.filter); !s) return s.error();
  // The collection must exist (the web may answer without the default one).
  if (!request.web && !request.local)
    return make_error(ErrorKind::kInvalidInput, "no sources: ask the local index, the web or both");
  if (request.local && (!request.web || request.collection != kDefaultCollection))
    if (auto c = retriever_.store().counters(request.collection); !c) return c.error();

  // The conversation so far: the stored thread's turns, then the caller's.
  AnswerJob job;
  job.request = request;
  job.chain = std::move(*chain);
  if (request.thread_id) {
    if (!threads_)
      return make_error(ErrorKind::kUnsupported, "threads are not kept by this server");
    auto thread = threads_->get(*request.thread_id, kHistoryTurnsRead);
    if (!thread) return thread.error();
    if (thread->owner != request.owner) return thread_not_found(*request.thread_id);
    for (const ThreadTurn& t : thread->turns) job.history.push_back({t.question, t.answer});
    job.thread_id = thread->id;
  }
  job.history.insert(job.history.end(), request.history.begin(), request.history.end());
  // The rest (model calls, searches, the web) runs on the stream's thread, its steps streamed
  // as they happen and cancelled with the stream.
  return std::unique_ptr<AnswerStream>(new AgentStream(*this, std::move(job)));
}

Result<std::unique_ptr<AnswerStream>> Answerer::answer(AnswerJob& job, const StepSink& step,
                                                       const CancelFlag* cancel) {
  const AskRequest& request = job.request;
  AskResponse base;
  std::string query = request.query;
  bool helper_down = false;  // the chain's first model failed a helper call
  if (!job.history.empty()) {
    query = standalone_query(request.query, job.history, job.chain, helper_down, cancel);
    if (query != request.query) {
      base.query = query;
      step(StepEvent{"rewrite", query});
    }
  }

  std::vector<Passage> passages;
  if (request.web) {
    auto found = web_passages(request, query, base, step, cancel);
    if (!found) return found.error();
    passages = std::move(*found);
  } else {
    auto found = local_passages(request, query, job.chain, helper_down, base, step, cancel);
    if (!found) return found.error();
    passages = std::move(*found);
  }

  // A new conversation gets its thread now, so the answer can name it.
  if (threads_ && job.thread_id.empty()) {
    auto created = threads_->create(request.collection, request.owner);
    if (created)
      job.thread_id = *created;
    else
      base.warnings.push_back("the thread could not be created: " + created.error().message);
  }

  job.passages = passages;  // what the claims are checked against
  AnswerContext context{request.query, query == request.query ? "" : query, job.history,
                        std::move(passages)};
  if (job.chain.size() > 1 || job.chain.front().provider != "extractive")
    return model_answer_stream(job.chain, models_, std::move(context), std::move(base));
  return std::unique_ptr<AnswerStream>(
      new ReadyStream(extractive_events(context.searched(), context.passages, std::move(base))));
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
