// The answer pipeline's domain types: what is asked, what comes back, and the events a streamed
// answer is made of. No JSON here: agent/json_api.h converts at the edges.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "index/result.h"
#include "index/store.h"

namespace chaja {

struct AskRequest {
  std::string query;
  std::string collection = kDefaultCollection;
  bool web = false;
  std::string model;  // "" for the answerer's default (the config's default_model, or extractive)
  std::optional<std::string> thread_id;
  size_t k = 8;         // passages retrieved
  bool stream = false;  // answer as Server-Sent Events
};

struct Citation {
  int n = 0;  // 1-based; [n] in the answer refers to citations[n-1]
  int64_t doc_id = 0;
  int64_t chunk_id = 0;
  std::string title;
  std::string source;
  std::string snippet;
};

// Tokens an answer cost (0 for the extractive model), as the API reports them.
struct AnswerUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

struct AskResponse {
  std::string answer;
  std::vector<Citation> citations;
  std::vector<std::string> related_questions;
  std::string model;
  AnswerUsage usage;
  std::optional<std::string> thread_id;
};

// Events of a streamed answer, in this order: Sources, Delta*, Related, Done.
struct SourcesEvent {
  std::vector<Citation> citations;
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
using AnswerEvent = std::variant<SourcesEvent, DeltaEvent, RelatedEvent, DoneEvent, ErrorEvent>;

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
