#include "index/metadata_filter.h"

#include <cmath>
#include <set>

#include "index/utf8.h"

namespace chaja {

FilterValue FilterValue::of_string(std::string s) {
  FilterValue v;
  v.kind = Kind::kString;
  v.text = std::move(s);
  return v;
}

FilterValue FilterValue::of_integer(int64_t i) {
  FilterValue v;
  v.kind = Kind::kInteger;
  v.integer = i;
  return v;
}

FilterValue FilterValue::of_real(double r) {
  FilterValue v;
  v.kind = Kind::kReal;
  v.real = r;
  return v;
}

FilterValue FilterValue::of_bool(bool b) {
  FilterValue v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}

Status check_filter_key(std::string_view key) {
  bool ok = !key.empty() && key.size() <= kMaxFilterKeyChars;
  for (const char c : key)
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-');
  if (ok) return {};
  std::string shown = utf8::is_valid(key) ? std::string(key.substr(0, 80)) : "(not UTF-8)";
  return make_error(ErrorKind::kInvalidInput,
                    "a filter key is 1 to 64 characters of A-Z a-z 0-9 _ . -, not '" + shown + "'");
}

Status check_metadata_filter(const MetadataFilter& filter) {
  if (filter.conditions.size() > kMaxFilterKeys)
    return make_error(ErrorKind::kInvalidInput,
                      "a filter has at most " + std::to_string(kMaxFilterKeys) + " keys");
  std::set<std::string_view> keys;
  for (const FilterCondition& c : filter.conditions) {
    if (Status s = check_filter_key(c.key); !s) return s;
    if (!keys.insert(c.key).second)
      return make_error(ErrorKind::kInvalidInput, "the filter names '" + c.key + "' twice");
    if (c.any_of.empty() || c.any_of.size() > kMaxFilterValues)
      return make_error(ErrorKind::kInvalidInput, "filter." + c.key + " takes 1 to " +
                                                      std::to_string(kMaxFilterValues) + " values");
    for (const FilterValue& v : c.any_of) {
      if (v.kind == FilterValue::Kind::kString &&
          (!utf8::is_valid(v.text) || v.text.size() > kMaxFilterStringBytes))
        return make_error(ErrorKind::kInvalidInput,
                          "filter." + c.key + ": a string value is UTF-8 of at most " +
                              std::to_string(kMaxFilterStringBytes) + " bytes");
      if (v.kind == FilterValue::Kind::kReal && !std::isfinite(v.real))
        return make_error(ErrorKind::kInvalidInput,
                          "filter." + c.key + ": a number value must be finite");
    }
  }
  return {};
}

}  // namespace chaja
