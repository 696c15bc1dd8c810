#include "index/charset.h"

#include <iconv.h>
#include <uchardet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>

#include "index/utf8.h"

namespace chaja {
namespace {

// Above this share of invalid sequences, "UTF-8 with a few bad bytes" is not a fair reading.
constexpr double kMaxRepairShare = 0.01;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string detect_charset(std::string_view bytes) {
  uchardet_t ud = uchardet_new();
  std::string name;
  if (uchardet_handle_data(ud, bytes.data(), bytes.size()) == 0) {
    uchardet_data_end(ud);
    name = uchardet_get_charset(ud);
  }
  uchardet_delete(ud);
  return name;
}

}  // namespace

Result<std::string> convert_to_utf8(std::string_view bytes, std::string_view charset) {
  std::string from = lower(charset);
  // EUC-KR pages nearly always use CP949 extensions; CP949 is a superset, so read them as it.
  if (from == "euc-kr" || from == "euckr" || from == "ks_c_5601-1987" || from == "uhc" ||
      from == "windows-949" || from == "ks_c_5601")
    from = "CP949";
  iconv_t cd = iconv_open("UTF-8", from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1))
    return make_error(ErrorKind::kUnsupported, "unknown charset '" + std::string(charset) + "'");
  std::string out(bytes.size() * 2 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  size_t out_used = 0;
  Status status;
  while (in_left > 0) {
    char* out_ptr = out.data() + out_used;
    size_t out_left = out.size() - out_used;
    const size_t rc = iconv(cd, &in, &in_left, &out_ptr, &out_left);
    out_used = out.size() - out_left;
    if (rc != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    status = make_error(ErrorKind::kInvalidInput, "bytes that are not " + std::string(charset) +
                                                      " at offset " +
                                                      std::to_string(bytes.size() - in_left));
    break;
  }
  iconv_close(cd);
  if (!status) return status.error();
  out.resize(out_used);
  return out;
}

Result<DecodedText> decode_to_utf8(std::string bytes, std::string_view declared_charset) {
  DecodedText result;
  std::string_view view(bytes);
  if (view.starts_with("\xEF\xBB\xBF")) {
    bytes.erase(0, 3);
  } else if (view.starts_with("\xFF\xFE") || view.starts_with("\xFE\xFF")) {
    auto converted = convert_to_utf8(view.substr(2), view[0] == '\xFF' ? "UTF-16LE" : "UTF-16BE");
    if (!converted) return converted.error();
    result.text = std::move(*converted);
    result.note = "converted from UTF-16";
    return result;
  }
  const auto nuls = static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\0'));
  if (nuls > bytes.size() / 1000 + 1)
    return make_error(ErrorKind::kInvalidInput,
                      "binary data, not text (" + std::to_string(nuls) + " NUL bytes)");
  const std::string declared = lower(declared_charset);
  if (!declared.empty() && declared != "utf-8" && declared != "utf8" && declared != "us-ascii") {
    auto converted = convert_to_utf8(bytes, declared_charset);
    if (converted) {
      result.text = std::move(*converted);
      result.note = "converted from " + std::string(declared_charset);
      return result;
    }
  }
  if (utf8::is_valid(bytes) && bytes.find('\0') == std::string::npos) {
    result.text = std::move(bytes);
    return result;
  }
  const std::string detected = detect_charset(bytes);
  const std::string d = lower(detected);
  if (!d.empty() && d != "utf-8" && d != "ascii" && d != "us-ascii") {
    auto converted = convert_to_utf8(bytes, detected);
    if (converted && utf8::is_valid(*converted)) {
      result.text = std::move(*converted);
      result.note = "converted from " + detected;
      return result;
    }
  }
  const size_t size = bytes.size();
  const size_t replaced = utf8::repair(bytes);
  if (static_cast<double>(replaced) > kMaxRepairShare * static_cast<double>(size) + 1)
    return make_error(ErrorKind::kInvalidInput, "not UTF-8 text and no known charset fits (" +
                                                    std::to_string(replaced) +
                                                    " invalid byte sequences)");
  result.text = std::move(bytes);
  if (replaced > 0)
    result.note = "replaced " + std::to_string(replaced) + " invalid UTF-8 sequences with U+FFFD";
  return result;
}

}  // namespace chaja
