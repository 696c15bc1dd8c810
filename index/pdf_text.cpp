#include "index/pdf_text.h"

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "index/utf8.h"

namespace chaja {

namespace {

// Poppler reports every damaged object on stderr; the caller gets one error value instead.
void silence_poppler() {
  static std::once_flag once;
  std::call_once(
      once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

// UTF-8 from poppler's UTF-16, repaired if poppler let a lone surrogate through, with control
// characters other than tab and newline dropped ("\f" and "\r" become newlines), trailing blanks
// cut from each line and runs of blank lines kept to one.
std::string clean_utf8(const poppler::ustring& u) {
  const poppler::byte_array bytes = u.to_utf8();
  std::string raw(bytes.begin(), bytes.end());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  utf8::repair(raw);
  std::string out;
  out.reserve(raw.size());
  size_t newlines = 0;
  for (const char ch : raw) {
    char c = ch;
    if (c == '\r' || c == '\f' || c == '\v') c = '\n';
    const auto uc = static_cast<unsigned char>(c);
    if (uc < 0x20 && c != '\n' && c != '\t') continue;
    if (uc == 0x7f) continue;
    if (c == '\n') {
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
      if (out.empty() || ++newlines > 2) continue;
    } else {
      newlines = 0;
    }
    out.push_back(c);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t'))
    out.pop_back();
  return out;
}

bool ends_sentence(std::string_view line) {
  const size_t last = utf8::floor_boundary(line, line.size() - 1);
  size_t len = 0;
  const char32_t c = utf8::decode(line, last, len);
  return c == '.' || c == '!' || c == '?' || c == ':' || c == ';' || c == 0x3002 || c == 0xFF01 ||
         c == 0xFF1F || c == 0xB2E4 /* 다 */ || c == 0xC694 /* 요 */;
}

// PDFs break every line at the margin, and a narrow page (a Korean A5 page holds ~30 syllables)
// gives lines too short for the chunker's own soft-wrap test. Within one page the margin is
// known: a line at least 3/4 as long as the page's longest, not ending a sentence and followed
// by a non-empty line, is joined to the next with a space. Short lines (titles, list items) stay.
std::string unwrap_lines(const std::string& page) {
  constexpr size_t kMinWrappedChars = 12;
  std::vector<std::string_view> lines;
  size_t longest = 0;
  for (size_t b = 0; b <= page.size();) {
    size_t e = page.find('\n', b);
    if (e == std::string::npos) e = page.size();
    lines.emplace_back(page.data() + b, e - b);
    longest = std::max(longest, utf8::length(lines.back()));
    b = e + 1;
  }
  std::string out;
  out.reserve(page.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (i + 1 == lines.size()) break;
    const size_t chars = utf8::length(lines[i]);
    const bool wrapped = chars >= kMinWrappedChars && chars * 4 >= longest * 3 &&
                         !lines[i + 1].empty() && !ends_sentence(lines[i]);
    out += wrapped ? ' ' : '\n';
  }
  return out;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  const size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<PdfText> pdf_to_text(std::string_view bytes, const PdfLimits& limits) {
  if (bytes.size() > limits.max_bytes)
    return make_error(ErrorKind::kTooLarge, "PDF of " + std::to_string(bytes.size()) +
                                                " bytes is over the limit of " +
                                                std::to_string(limits.max_bytes));
  if (bytes.size() < 8 || bytes.size() > static_cast<size_t>(INT32_MAX))
    return make_error(ErrorKind::kInvalidInput, "not a readable PDF");
  silence_poppler();
  // load_from_raw_data does not copy: `bytes` outlives `doc`.
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!doc) return make_error(ErrorKind::kInvalidInput, "not a readable PDF");
  if (doc->is_locked())
    return make_error(ErrorKind::kUnsupported,
                      "PDF is encrypted with a password; Chaja cannot read locked PDFs");
  PdfText out;
  out.pages = doc->pages();
  if (out.pages < 0) return make_error(ErrorKind::kInvalidInput, "not a readable PDF");
  if (out.pages > limits.max_pages)
    return make_error(ErrorKind::kTooLarge, "PDF of " + std::to_string(out.pages) +
                                                " pages is over the limit of " +
                                                std::to_string(limits.max_pages));
  out.title = one_line(clean_utf8(doc->get_title()));
  for (int i = 0; i < out.pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page) continue;  // a damaged page is skipped; the others are still worth reading
    // Reading order (like pdftotext without -layout), not the physical column layout.
    std::string text = unwrap_lines(
        clean_utf8(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout)));
    if (text.empty()) continue;
    if (!out.text.empty()) out.text += "\n\n";
    out.text += text;
    if (out.text.size() > limits.max_text_bytes)
      return make_error(ErrorKind::kTooLarge, "PDF text is over the limit of " +
                                                  std::to_string(limits.max_text_bytes) + " bytes");
  }
  if (!utf8::is_valid(out.text) || !utf8::is_valid(out.title))
    return make_error(ErrorKind::kInternal, "PDF text is not valid UTF-8 after repair");
  return out;
}

}  // namespace chaja
