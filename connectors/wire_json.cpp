#include "connectors/wire_json.h"

#include <limits>

#include "index/utf8.h"

namespace chaja::wire {

std::optional<Json> parse(std::string_view text) {
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string quote(std::string_view text, size_t max_bytes) {
  std::string s(text);
  utf8::repair(s);
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max_bytes) {
    out.resize(utf8::floor_boundary(out, max_bytes));
    out += "...";
  }
  return out;
}

std::optional<std::string> FieldReader::string(const Json& object, std::string_view key) {
  const Json* v = member(object, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    wrong_type(key, "a string");
    return std::nullopt;
  }
  return v->get_ref<const std::string&>();
}

int64_t FieldReader::count(const Json& object, std::string_view key) {
  const Json* v = member(object, key);
  if (!v) return -1;
  if (v->is_number_unsigned()) {
    const auto n = v->get<uint64_t>();
    if (n <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(n);
  } else if (v->is_number_integer()) {
    const auto n = v->get<int64_t>();
    if (n >= 0) return n;
  }
  wrong_type(key, "a token count");
  return -1;
}

const Json* FieldReader::object(const Json& object, std::string_view key) {
  const Json* v = member(object, key);
  if (!v) return nullptr;
  if (!v->is_object()) {
    wrong_type(key, "an object");
    return nullptr;
  }
  return v;
}

const Json* FieldReader::array(const Json& object, std::string_view key) {
  const Json* v = member(object, key);
  if (!v) return nullptr;
  if (!v->is_array()) {
    wrong_type(key, "an array");
    return nullptr;
  }
  return v;
}

std::optional<bool> FieldReader::boolean(const Json& object, std::string_view key) {
  const Json* v = member(object, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    wrong_type(key, "a boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

void FieldReader::fail(std::string_view what) {
  if (!error_) error_ = std::string(what);
}

Error FieldReader::error() const {
  return malformed(context_, error_ ? *error_ : "malformed");
}

void FieldReader::wrong_type(std::string_view key, std::string_view expected) {
  fail("field '" + quote(key, 64) + "' is not " + std::string(expected));
}

Error malformed(std::string_view context, std::string_view what) {
  return make_error(ErrorKind::kUpstream, std::string(context) + ": " + std::string(what));
}

}  // namespace chaja::wire
