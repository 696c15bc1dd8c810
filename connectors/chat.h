// The one internal shape of a chat with any LLM: a request, a stream of events, a result, and
// the ChatModel interface every provider connector implements. Nothing outside connectors/ sees a
// provider's JSON; everything outside sees only these types.
//
// Errors a connector returns, by ErrorKind (the server maps them to CONTRACT §3 statuses):
//   kInvalidInput  the request cannot be sent as asked (e.g. no messages)             400
//   kUnavailable   the provider is not configured: the message names the variable    503
//   kRateLimited   429 after the retries allowed (insufficient quota: not retried)    429
//   kUpstream      the provider failed: refused the key (401/403, the message names   502
//                  the variable), unknown model (404), 5xx, overloaded (529), model
//                  loading (503), a broken or malformed stream, an in-stream error
//   kTimeout       connect, first byte, idle gap between events, or total time        504
//   kCancelled     the caller cancelled (the user went away)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "index/result.h"

namespace chaja {

enum class ChatRole { kUser, kAssistant };

struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  std::string content;
};

struct ChatRequest {
  std::string system;  // "" for none; sent the way each provider wants it
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;
  size_t max_tokens = 1024;  // Anthropic requires it; others get it as their own field
  std::vector<std::string> stop;
};

struct Usage {
  int64_t input_tokens = -1;  // -1: the provider did not say
  int64_t output_tokens = -1;
};

// What a call cost, recorded by every connector for every call.
struct CallStats {
  double first_token_ms = -1;  // time to the first text delta; -1 when none came
  double total_ms = 0;
  int attempts = 1;  // 1 + retries
  Usage usage;
};

struct ChatEvent {
  enum class Kind { kText, kFinish, kUsage };
  Kind kind = Kind::kText;
  std::string text;           // kText: the delta
  std::string finish_reason;  // kFinish: normalised: "stop", "length", "tool_calls",
                              // "content_filter", or the provider's own
  Usage usage;                // kUsage
};

struct ChatResult {
  std::string text;
  std::string finish_reason;
  CallStats stats;
};

// Called for each event as it arrives; returning false cancels the call (kCancelled).
using ChatSink = std::function<bool(const ChatEvent&)>;

// Set from another thread to cancel a call at any point (checked at least every 100 ms).
using CancelFlag = std::atomic<bool>;

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  // "provider:model" as users write it.
  virtual std::string name() const = 0;
  // Blocking: the whole answer.
  virtual Result<ChatResult> chat(const ChatRequest& request, const CancelFlag* cancel) = 0;
  // Streaming: events to sink as they arrive; the result repeats the assembled text. Retries
  // (429, 5xx, connection errors) happen only before the first event reached the sink.
  virtual Result<ChatResult> stream(const ChatRequest& request, const ChatSink& sink,
                                    const CancelFlag* cancel) = 0;
};

}  // namespace chaja
