#include "connectors/ndjson.h"

#include <utility>

namespace chaja {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

NdjsonSplitter::NdjsonSplitter(Options options) : options_(options) {}

Status NdjsonSplitter::fail(Error error) {
  error_ = std::move(error);
  return *error_;
}

void NdjsonSplitter::emit(std::string_view line, std::vector<std::string>& lines) {
  if (first_line_) {
    first_line_ = false;
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  if (line.ends_with('\r')) line.remove_suffix(1);
  if (!is_blank(line)) lines.emplace_back(line);
}

Status NdjsonSplitter::feed(std::string_view bytes, std::vector<std::string>& lines) {
  if (error_) return *error_;
  if (finished_)
    return fail(make_error(ErrorKind::kInternal, "NDJSON stream: feed() after finish()"));
  const auto too_long = [this] {
    return fail(make_error(ErrorKind::kTooLarge, "NDJSON stream: a line is longer than " +
                                                     std::to_string(options_.max_line_bytes) +
                                                     " bytes"));
  };
  size_t i = 0;
  while (i < bytes.size()) {
    const size_t eol = bytes.find('\n', i);
    if (eol == std::string_view::npos) {
      // Unterminated so far; one extra byte is allowed for the CR of a CRLF.
      if (line_.size() + (bytes.size() - i) > options_.max_line_bytes + 1) return too_long();
      line_.append(bytes.substr(i));
      break;
    }
    std::string_view piece = bytes.substr(i, eol - i);
    if (!line_.empty()) {
      if (line_.size() + piece.size() > options_.max_line_bytes + 1) return too_long();
      line_.append(piece);
      piece = line_;
    }
    const size_t length = piece.size() - (piece.ends_with('\r') ? 1 : 0);
    if (length > options_.max_line_bytes) return too_long();
    emit(piece, lines);
    line_.clear();
    i = eol + 1;
  }
  return {};
}

Result<std::optional<std::string>> NdjsonSplitter::finish() {
  if (error_) return *error_;
  if (finished_)
    return fail(make_error(ErrorKind::kInternal, "NDJSON stream: finish() twice")).error();
  finished_ = true;
  if (line_.size() - (line_.ends_with('\r') ? 1 : 0) > options_.max_line_bytes)
    return fail(make_error(ErrorKind::kTooLarge, "NDJSON stream: a line is longer than " +
                                                     std::to_string(options_.max_line_bytes) +
                                                     " bytes"))
        .error();
  std::vector<std::string> last;
  emit(line_, last);
  line_.clear();
  if (last.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{std::move(last.front())};
}

}  // namespace chaja
