// A chat model for pipeline tests: its streamed answer is a fixed text sent as one delta. Its
// blocking call (what the helper calls use: rewrite, plan, bridge, related questions) answers
// the same text unless a test overrides chat().
#pragma once

#include <string>
#include <utility>

#include "connectors/chat.h"

namespace chaja::test {

class FixedAnswerModel : public ChatModel {
 public:
  FixedAnswerModel(std::string name, std::string answer)
      : name_(std::move(name)), answer_(std::move(answer)) {}
  std::string name() const override { return name_; }
  Result<ChatResult> chat(const ChatRequest&, const CancelFlag*) override {
    ChatResult result;
    result.text = answer_;
    return result;
  }
  Result<ChatResult> stream(const ChatRequest&, const ChatSink& sink, const CancelFlag*) override {
    ChatEvent e;
    e.text = answer_;
    sink(e);
    ChatResult result;
    result.text = answer_;
    return result;
  }

 private:
  std::string name_;
  std::string answer_;
};

}  // namespace chaja::test
