// Reading and writing provider wire JSON without exceptions, for the codecs' .cpp files (this
// header brings nlohmann/json in; no public header of connectors/ includes it).
//
// The rule every codec follows when it reads a provider's message:
//   - a field that is absent or JSON null is "not said" (nullopt, -1);
//   - a field present with the wrong type (a string where a count belongs, a negative or
//     fractional count, a count beyond int64, text that is not a string) makes the whole message
//     malformed: FieldReader records the first such field and the codec returns kUpstream.
// Nothing here throws: parsing uses allow_exceptions = false, serialising replaces invalid UTF-8
// by U+FFFD, and member access checks types first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "index/result.h"

namespace chaja::wire {

using Json = nlohmann::json;

// A whole JSON text (surrounding white space allowed); nullopt for a syntax error, invalid
// UTF-8 in a string, or trailing bytes.
std::optional<Json> parse(std::string_view text);

// Compact serialisation; invalid UTF-8 in strings becomes U+FFFD.
std::string dump(const Json& value);

// The member `key` of `object`, or nullptr when `object` is not an object, lacks the key, or
// the member is null.
const Json* member(const Json& object, std::string_view key);

// Provider text made safe to put into an error message: valid UTF-8 (invalid bytes become
// U+FFFD), control characters as spaces, white space runs collapsed, trimmed, and cut to at most
// max_bytes on a character boundary ("..." appended when cut).
std::string quote(std::string_view text, size_t max_bytes = 600);

// Reads typed fields and remembers the first one of the wrong type.
class FieldReader {
 public:
  // `context` starts the error message, e.g. "anthropic: malformed stream event".
  explicit FieldReader(std::string context) : context_(std::move(context)) {}

  // A string member: nullopt when absent or null.
  std::optional<std::string> string(const Json& object, std::string_view key);
  // A token count: an integer in [0, INT64_MAX]; -1 when absent or null.
  int64_t count(const Json& object, std::string_view key);
  // An object member: nullptr when absent or null.
  const Json* object(const Json& object, std::string_view key);
  // An array member: nullptr when absent or null.
  const Json* array(const Json& object, std::string_view key);
  // A boolean member: nullopt when absent or null.
  std::optional<bool> boolean(const Json& object, std::string_view key);

  // Records a problem that is not about one field's type (e.g. "no content").
  void fail(std::string_view what);

  bool ok() const { return !error_; }
  // The first problem as a kUpstream Error ("<context>: <what>").
  Error error() const;

 private:
  void wrong_type(std::string_view key, std::string_view expected);

  std::string context_;
  std::optional<std::string> error_;
};

// A kUpstream error "<context>: <what>".
Error malformed(std::string_view context, std::string_view what);

}  // namespace chaja::wire
