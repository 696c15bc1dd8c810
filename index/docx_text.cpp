#include "index/docx_text.h"

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <zip.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "index/utf8.h"

namespace chaja {

namespace {

constexpr size_t kMaxTitleChars = 100;

// Transitional and Strict OOXML name WordprocessingML differently; both are read.
constexpr std::string_view kWordNs = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
constexpr std::string_view kWordStrictNs = "http://purl.oclc.org/ooxml/wordprocessingml/main";
constexpr std::string_view kCompatNs =
    "http://schemas.openxmlformats.org/markup-compatibility/2006";
constexpr std::string_view kDcNs = "http://purl.org/dc/elements/1.1/";

Error not_readable() {
  return make_error(ErrorKind::kInvalidInput, "not a readable .docx");
}

Error too_large(const std::string& what, uint64_t size, uint64_t limit) {
  return make_error(ErrorKind::kTooLarge, what + " of " + std::to_string(size) +
                                              " bytes is over the limit of " +
                                              std::to_string(limit));
}

// ---- ZIP -----------------------------------------------------------------------------------

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

// Opens the ZIP over `bytes` without copying them (`bytes` outlives the archive).
Result<ZipPtr> open_zip(std::string_view bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  zip_error_fini(&error);
  if (!source) return make_error(ErrorKind::kInternal, "cannot create a ZIP source");
  zip_error_init(&error);
  zip_t* zip = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  zip_error_fini(&error);
  if (!zip) {
    zip_source_free(source);  // still ours when the open failed
    return not_readable();
  }
  return ZipPtr(zip);
}

// One member, uncompressed, at most `cap` bytes whatever its header claims. `found` tells a
// missing member (empty result) from an empty one.
Result<std::string> read_member(zip_t* zip, const char* name, uint64_t cap, bool& found) {
  found = false;
  const zip_int64_t index = zip_name_locate(zip, name, ZIP_FL_NOCASE);
  if (index < 0) return std::string();
  found = true;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip, static_cast<zip_uint64_t>(index), 0, &st) != 0) return not_readable();
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
    return make_error(ErrorKind::kUnsupported,
                      ".docx entry is encrypted with a password; Chaja cannot read it");
  if ((st.valid & ZIP_STAT_SIZE) && st.size > cap)
    return too_large(std::string("uncompressed ") + name, st.size, cap);
  std::unique_ptr<zip_file_t, ZipFileClose> file(
      zip_fopen_index(zip, static_cast<zip_uint64_t>(index), 0));
  if (!file) return not_readable();
  std::string out;
  if (st.valid & ZIP_STAT_SIZE) out.reserve(static_cast<size_t>(st.size));
  std::array<char, 1 << 16> buf;
  for (;;) {
    const zip_int64_t n = zip_fread(file.get(), buf.data(), buf.size());
    if (n < 0) return not_readable();  // bad deflate stream, CRC mismatch, size lie caught
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > cap)
      return too_large(std::string("uncompressed ") + name, out.size() + n, cap);
    out.append(buf.data(), static_cast<size_t>(n));
  }
  return out;
}

// ---- XML -----------------------------------------------------------------------------------

// Repairs invalid UTF-8 in a part that is UTF-8 (no UTF-16 byte order mark, no other encoding
// declared), which libxml2 would otherwise refuse outright.
void repair_utf8_part(std::string& xml) {
  if (xml.starts_with("\xFF\xFE") || xml.starts_with("\xFE\xFF")) return;
  if (xml.starts_with("<?xml")) {
    const std::string_view decl = std::string_view(xml).substr(0, xml.find("?>"));
    const size_t at = decl.find("encoding=");
    if (at != std::string_view::npos && at + 10 < decl.size()) {
      std::string enc;
      for (size_t i = at + 10; i < decl.size() && decl[i] != '"' && decl[i] != '\''; ++i)
        enc += static_cast<char>(std::tolower(static_cast<unsigned char>(decl[i])));
      if (enc != "utf-8" && enc != "utf8") return;
    }
  }
  if (!utf8::is_valid(xml)) utf8::repair(xml);
}

std::string_view view(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

bool is_word(std::string_view ns) {
  return ns == kWordNs || ns == kWordStrictNs;
}

const xmlChar* xml_str(const char* s) {
  return reinterpret_cast<const xmlChar*>(s);
}

// A w: attribute of the current element, "" if none.
std::string word_attr(xmlTextReaderPtr r, const char* name) {
  for (const std::string_view ns : {kWordNs, kWordStrictNs}) {
    const std::string uri(ns);
    xmlChar* v = xmlTextReaderGetAttributeNs(r, xml_str(name), xml_str(uri.c_str()));
    if (v) {
      std::string out(reinterpret_cast<const char*>(v));
      xmlFree(v);
      return out;
    }
  }
  return "";
}

std::string word_val(xmlTextReaderPtr r) {
  return word_attr(r, "val");
}

// What a walk over one part sees. skip() drops an element with everything in it.
class XmlVisitor {
 public:
  virtual ~XmlVisitor() = default;
  virtual bool skip(std::string_view /*ns*/, std::string_view /*name*/) { return false; }
  virtual void start(std::string_view ns, std::string_view name, xmlTextReaderPtr r) = 0;
  virtual void end(std::string_view ns, std::string_view name) = 0;
  virtual void text(std::string_view s) = 0;
  virtual bool over_limit() const { return false; }
};

struct ReaderFree {
  void operator()(xmlTextReader* r) const { xmlFreeTextReader(r); }
};

// Streams a part through libxml2's reader: no network, no DTD loading, entities not substituted,
// no huge-tree mode; a document type declaration is refused outright (Word never writes one, and
// it is where entity bombs live). Errors: kInvalidInput (malformed), kTooLarge (the visitor's
// text limit).
Status walk_xml(std::string xml, XmlVisitor& v, uint64_t max_text_bytes) {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
  repair_utf8_part(xml);
  if (xml.size() > static_cast<size_t>(INT32_MAX)) return not_readable();
  std::unique_ptr<xmlTextReader, ReaderFree> reader(
      xmlReaderForMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!reader) return not_readable();
  xmlTextReaderPtr r = reader.get();
  xmlTextReaderSetErrorHandler(
      r, [](void*, const char*, xmlParserSeverities, xmlTextReaderLocatorPtr) {}, nullptr);
  int ret = xmlTextReaderRead(r);
  while (ret == 1) {
    const int type = xmlTextReaderNodeType(r);
    if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE)
      return not_readable();
    const std::string_view ns = view(xmlTextReaderConstNamespaceUri(r));
    const std::string_view name = view(xmlTextReaderConstLocalName(r));
    if (type == XML_READER_TYPE_ELEMENT) {
      const bool empty = xmlTextReaderIsEmptyElement(r) == 1;
      if (v.skip(ns, name)) {
        ret = empty ? xmlTextReaderRead(r) : xmlTextReaderNext(r);
        continue;
      }
      v.start(ns, name, r);
      if (empty) v.end(ns, name);
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
      v.end(ns, name);
    } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
               type == XML_READER_TYPE_WHITESPACE ||
               type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
      v.text(view(xmlTextReaderConstValue(r)));
    }
    if (v.over_limit())
      return make_error(ErrorKind::kTooLarge, ".docx text is over the limit of " +
                                                  std::to_string(max_text_bytes) + " bytes");
    ret = xmlTextReaderRead(r);
  }
  if (ret < 0) return not_readable();
  return {};
}

// ---- Headings ------------------------------------------------------------------------------

// 1..6 for "heading 1".."heading 6", "Heading1", "제목 1", "제목1"; 0 otherwise.
int heading_level_of_name(std::string_view name) {
  std::string s;
  for (const char c : name)
    if (c != ' ') s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view rest = s;
  if (rest.starts_with("heading"))
    rest.remove_prefix(7);
  else if (rest.starts_with("\xEC\xA0\x9C\xEB\xAA\xA9"))  // 제목
    rest.remove_prefix(6);
  else
    return 0;
  if (rest.size() != 1 || rest[0] < '1' || rest[0] > '6') return 0;
  return rest[0] - '0';
}

// w:outlineLvl 0..5 is heading level 1..6 (9 is body text).
int heading_level_of_outline(const std::string& val) {
  if (val.size() != 1 || val[0] < '0' || val[0] > '5') return 0;
  return val[0] - '0' + 1;
}

// styles.xml: paragraph style id -> heading level, by the style's name or its outline level.
// Localised Word writes ids like "1" for "heading 1", so the name is what counts.
class StylesVisitor : public XmlVisitor {
 public:
  std::map<std::string, int> levels;

  void start(std::string_view ns, std::string_view name, xmlTextReaderPtr r) override {
    if (!is_word(ns)) return;
    if (name == "style") {
      id_ = word_attr(r, "styleId");
      in_style_ = !id_.empty();
    } else if (in_style_ && name == "name") {
      if (const int level = heading_level_of_name(word_val(r))) levels[id_] = level;
    } else if (in_style_ && name == "outlineLvl") {
      if (const int level = heading_level_of_outline(word_val(r)); level && !levels.count(id_))
        levels[id_] = level;
    }
  }
  void end(std::string_view ns, std::string_view name) override {
    if (is_word(ns) && name == "style") in_style_ = false;
  }
  void text(std::string_view) override {}

 private:
  std::string id_;
  bool in_style_ = false;
};

// ---- The document --------------------------------------------------------------------------

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return trim(s);
}

class DocumentVisitor : public XmlVisitor {
 public:
  DocumentVisitor(const std::map<std::string, int>& styles, uint64_t max_text_bytes)
      : styles_(styles), max_text_bytes_(max_text_bytes) {}

  std::string out;
  std::string first_paragraph;  // the first non-empty top-level paragraph, one line

  bool skip(std::string_view ns, std::string_view name) override {
    // The fallback copy of alternate content (text boxes appear twice), tracked-change history.
    if (ns == kCompatNs) return name == "Fallback";
    return is_word(ns) && (name == "pPrChange" || name == "rPrChange" || name == "moveFrom" ||
                           name == "del" || name == "delText" || name == "instrText");
  }

  void start(std::string_view ns, std::string_view name, xmlTextReaderPtr r) override {
    if (!is_word(ns)) return;
    if (name == "p") {
      paragraphs_.push_back({});
    } else if (name == "tbl") {
      tables_.push_back({});
    } else if (paragraphs_.empty()) {
      return;
    } else if (name == "pStyle") {
      if (paragraphs_.back().level == 0) {
        const std::string id = word_val(r);
        const auto it = styles_.find(id);
        paragraphs_.back().level = it != styles_.end() ? it->second : heading_level_of_name(id);
      }
    } else if (name == "outlineLvl" && runs_ == 0) {
      paragraphs_.back().level = heading_level_of_outline(word_val(r));
    } else if (name == "r") {
      ++runs_;
    } else if (name == "t") {
      ++in_text_;
    } else if (runs_ > 0) {
      std::string& p = paragraphs_.back().text;
      if (name == "tab") p += '\t';
      if (name == "br" || name == "cr") p += '\n';
      if (name == "noBreakHyphen") p += '-';
    }
  }

  void end(std::string_view ns, std::string_view name) override {
    if (!is_word(ns)) return;
    if (name == "r" && runs_ > 0) --runs_;
    if (name == "t" && in_text_ > 0) --in_text_;
    if (name == "p" && !paragraphs_.empty()) end_paragraph();
    if (name == "tc" && !tables_.empty()) {
      Table& t = tables_.back();
      t.cells.push_back(one_line(t.cell));
      t.cell.clear();
    }
    if (name == "tr" && !tables_.empty()) {
      Table& t = tables_.back();
      bool any = false;
      for (const std::string& c : t.cells) any = any || !c.empty();
      if (any) {
        // "| a | b |": the chunker reads a line opening with '|' as a table row, never as a
        // paragraph wrapped at the margin.
        std::string row = "|";
        for (const std::string& c : t.cells) row += " " + c + " |";
        t.rows.push_back(std::move(row));
      }
      t.cells.clear();
    }
    if (name == "tbl" && !tables_.empty()) end_table();
  }

  void text(std::string_view s) override {
    if (in_text_ > 0 && !paragraphs_.empty()) paragraphs_.back().text += s;
  }

  bool over_limit() const override { return out.size() > max_text_bytes_; }

 private:
  struct Paragraph {
    std::string text;
    int level = 0;  // heading level, 0 for body text
  };
  struct Table {
    std::vector<std::string> rows, cells;
    std::string cell;
  };

  // A block (paragraph line or table) into the text; headings and tables set off by a blank line.
  void emit(const std::string& block, bool set_off) {
    if (block.empty()) return;
    if (set_off && !out.empty() && !out.ends_with("\n\n")) out += '\n';
    out += block;
    out += '\n';
    if (set_off) out += '\n';
  }

  void end_paragraph() {
    Paragraph p = std::move(paragraphs_.back());
    paragraphs_.pop_back();
    std::string body = trim(p.text);
    if (body.empty()) return;
    if (!tables_.empty()) {  // a paragraph in a table cell (or in a text box in one)
      std::string& cell = tables_.back().cell;
      if (!cell.empty()) cell += ' ';
      cell += one_line(body);
      return;
    }
    if (!paragraphs_.empty()) {  // a text box inside a paragraph: its own line, before its host
      emit(one_line(body), false);
      return;
    }
    if (first_paragraph.empty()) first_paragraph = one_line(body);
    if (p.level > 0)
      emit(std::string(static_cast<size_t>(p.level), '#') + " " + one_line(body), true);
    else
      emit(body, false);
  }

  void end_table() {
    Table t = std::move(tables_.back());
    tables_.pop_back();
    if (t.rows.empty()) return;
    if (!tables_.empty()) {  // nested: its rows go into the outer cell, on one line
      std::string& cell = tables_.back().cell;
      for (const std::string& row : t.rows) {
        if (!cell.empty()) cell += ' ';
        cell += row;
      }
      return;
    }
    std::string block;
    for (const std::string& row : t.rows) block += row + "\n";
    block.pop_back();
    emit(block, true);
  }

  const std::map<std::string, int>& styles_;
  uint64_t max_text_bytes_;
  std::vector<Paragraph> paragraphs_;  // more than one inside text boxes
  std::vector<Table> tables_;          // more than one for nested tables
  int runs_ = 0;
  int in_text_ = 0;
};

// docProps/core.xml: dc:title.
class CoreVisitor : public XmlVisitor {
 public:
  std::string title;

  void start(std::string_view ns, std::string_view name, xmlTextReaderPtr) override {
    if (ns == kDcNs && name == "title") ++in_title_;
  }
  void end(std::string_view ns, std::string_view name) override {
    if (ns == kDcNs && name == "title" && in_title_ > 0) --in_title_;
  }
  void text(std::string_view s) override {
    if (in_title_ > 0 && title.size() < 4096) title += s;
  }

 private:
  int in_title_ = 0;
};

}  // namespace

Result<DocxText> docx_to_text(std::string_view bytes, const DocxLimits& limits) {
  if (bytes.size() > limits.max_bytes) return too_large(".docx", bytes.size(), limits.max_bytes);
  // Password-protected Office files are not ZIPs but OLE compound files (as is a legacy .doc).
  if (bytes.starts_with("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"))
    return make_error(ErrorKind::kUnsupported,
                      ".docx is an OLE container: encrypted with a password (or a legacy .doc "
                      "renamed); Chaja cannot read it");
  auto zip = open_zip(bytes);
  if (!zip) return zip.error();

  bool found = false;
  auto document = read_member(zip->get(), "word/document.xml", limits.max_part_bytes, found);
  if (!document) return document.error();
  if (!found) return not_readable();

  std::map<std::string, int> styles;
  auto styles_xml = read_member(zip->get(), "word/styles.xml", limits.max_part_bytes, found);
  if (!styles_xml) return styles_xml.error();
  if (found) {
    StylesVisitor v;
    // A damaged styles part only costs the heading marks of localised style ids.
    if (walk_xml(std::move(*styles_xml), v, limits.max_text_bytes).ok()) styles = v.levels;
  }

  DocumentVisitor doc(styles, limits.max_text_bytes);
  if (Status s = walk_xml(std::move(*document), doc, limits.max_text_bytes); !s.ok())
    return s.error();

  DocxText out;
  auto core = read_member(zip->get(), "docProps/core.xml", limits.max_part_bytes, found);
  if (!core) return core.error();
  if (found) {
    CoreVisitor v;
    if (walk_xml(std::move(*core), v, limits.max_text_bytes).ok()) out.title = one_line(v.title);
  }
  if (out.title.empty() && utf8::length(doc.first_paragraph) <= kMaxTitleChars)
    out.title = doc.first_paragraph;
  out.text = std::move(doc.out);
  while (!out.text.empty() && out.text.back() == '\n') out.text.pop_back();
  utf8::repair(out.text);  // a character reference to a lone surrogate, say
  utf8::repair(out.title);
  if (!utf8::is_valid(out.text) || !utf8::is_valid(out.title))
    return make_error(ErrorKind::kInternal, ".docx text is not valid UTF-8 after repair");
  return out;
}

}  // namespace chaja
