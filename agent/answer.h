// The answer pipeline's domain types: what is asked, what comes back, and the events a streamed
// answer is made of. No JSON here: agent/json_api.h converts at the edges.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "connectors/web_search.h"
#include "index/result.h"
#include "index/store.h"

namespace chaja {

// One earlier exchange of a conversation.
struct HistoryTurn {
  std::string question;
  std::string answer;
};

// The model name that means "the server's default" (GET /v1/models lists it first).
inline constexpr std::string_view kDefaultModelAlias = "chaja";

struct AskRequest {
  std::string query;
  std::string collection = kDefaultCollection;
  bool web = false;
  bool local = true;  // false: the web alone, even when the collection exists ("sources": "web")
  // Web filters (Perplexity's search_domain_filter / search_recency_filter): only these hosts
  // (and their subdomains) when any is given, never the excluded ones, nothing older.
  std::vector<std::string> include_domains;
  std::vector<std::string> exclude_domains;
  WebRecency recency = WebRecency::kNone;
  // Only local documents whose metadata matches (every search of the answer; web pages are not
  // filtered). Empty: every document.
  MetadataFilter filter = {};
  std::string model;  // "" for the answerer's default (the config's default_model, or extractive)
  std::optional<std::string> thread_id;  // a stored thread to continue (its turns are history)
  // The caller's API key id ("" on an open server): the threads it starts are its own, and it
  // may continue only those.
  std::string owner;
  // Earlier turns given by the caller (the OpenAI-compatible endpoint's messages), oldest first;
  // a stored thread's turns come before them.
  std::vector<HistoryTurn> history;
  size_t k = 8;         // passages retrieved
  bool stream = false;  // answer as Server-Sent Events
};

enum class SourceKind { kLocal, kWeb };

// A passage an answer draws on: a chunk of the local index, or of a fetched web page.
struct Passage {
  SourceKind kind = SourceKind::kLocal;
  int64_t doc_id = 0;    // local only (0 for the web)
  int64_t chunk_id = 0;  // local only
  std::string title;
  std::string source;  // a file path or given source; the page's URL for the web
  std::string section;
  std::string text;
  std::string domain;     // web only: the URL's host
  std::string published;  // web only: the page's date when it states one (ISO 8601), or ""
  double score = 0;       // the fused rank score
};

struct Citation {
  int n = 0;  // 1-based; [n] in the answer refers to citations[n-1]
  SourceKind kind = SourceKind::kLocal;
  int64_t doc_id = 0;  // 0 for a web page
  int64_t chunk_id = 0;
  std::string title;
  std::string source;  // the URL for a web page
  std::string snippet;
  std::string domain;  // web only
  std::string published;
};

// Citation n for a passage, with the snippet shown for it.
inline Citation citation_of(const Passage& p, int n, std::string snippet) {
  Citation c;
  c.n = n;
  c.kind = p.kind;
  c.doc_id = p.doc_id;
  c.chunk_id = p.chunk_id;
  c.title = p.title;
  c.source = p.source;
  c.snippet = std::move(snippet);
  c.domain = p.domain;
  c.published = p.published;
  return c;
}

// A local search hit as a passage.
inline Passage local_passage(SearchHit hit) {
  Passage p;
  p.doc_id = hit.doc_id;
  p.chunk_id = hit.chunk_id;
  p.title = std::move(hit.title);
  p.source = std::move(hit.source);
  p.section = std::move(hit.section);
  p.text = std::move(hit.text);
  p.score = hit.score;
  return p;
}

// Tokens an answer cost (0 for the extractive model), as the API reports them.
struct AnswerUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// A sentence of the answer with the citations it carries (final numbers) and how well the
// cited sources support it: the share of its content words (and all of its numbers) found in
// them, 0..1. `supported` is false below the threshold, so a UI can flag the claim.
struct Claim {
  std::string text;
  std::vector<int> citations;
  double support = 0;
  bool supported = true;
};

// Where the time before the answer went, in milliseconds (0 for a step that did not run).
struct AnswerTimings {
  double retrieval_ms = 0;  // the local index
  double web_search_ms = 0;
  double web_fetch_ms = 0;    // pages fetched (or read from the page cache)
  double web_extract_ms = 0;  // main text extracted and chunked
  double rank_ms = 0;         // web and local passages ranked together (embedding included)
  int web_pages = 0;          // pages that gave text
  int web_cached = 0;         // of which from the page cache
  int web_failed = 0;         // pages that could not be used (their search snippet stands in)
};

struct AskResponse {
  std::string answer;
  std::vector<Citation> citations;
  std::vector<std::string> related_questions;
  std::string model;
  AnswerUsage usage;
  std::optional<std::string> thread_id;
  std::string query;  // the standalone query searched for (a follow-up rewritten), "" if the same
  std::vector<Claim> claims;
  AnswerTimings timings;
  // What went wrong without stopping the answer (a web search backend that failed over, a page
  // that could not be read), one line each.
  std::vector<std::string> warnings;
};

// Events of a streamed answer, in this order: Step*, Sources, (Citation | Delta)*, Related, Done.
// Sources lists the passages the answer was given, numbered as the model saw them; the answer's
// markers are renumbered in order of first use, and each source's first use is announced by a
// Citation event (with its final number) just before the delta that cites it, so the final
// citation list is exactly what was cited and [n] is citations[n-1].

// A step of the search as it happens: "rewrite" (the standalone query), "plan" (sub-queries),
// "search" (the local index), "web_search", "read" (pages fetched), "rank".
struct StepEvent {
  std::string kind;
  std::string text;  // what a UI shows: the query searched, "read 5 pages", ...
};
struct SourcesEvent {
  std::vector<Citation> citations;
};
struct CitationEvent {
  Citation citation;  // n is its final number
};
struct DeltaEvent {
  std::string text;
};
struct RelatedEvent {
  std::vector<std::string> questions;
};
struct DoneEvent {
  AskResponse response;
};
struct ErrorEvent {
  Error error;
};
using AnswerEvent = std::variant<StepEvent, SourcesEvent, CitationEvent, DeltaEvent, RelatedEvent,
                                 DoneEvent, ErrorEvent>;

// A pull generator over an answer's events. next() returns nullopt after Done or Error.
// Destroying the stream early cancels the work behind it.
class AnswerStream {
 public:
  virtual ~AnswerStream() = default;
  virtual std::optional<AnswerEvent> next() = 0;
  // Waits up to `timeout` for next() to have something (an event or the end) without blocking;
  // true when it has. Lets a server notice a client that went away while a model thinks.
  virtual bool wait_for(std::chrono::milliseconds /*timeout*/) { return true; }
};

}  // namespace chaja
