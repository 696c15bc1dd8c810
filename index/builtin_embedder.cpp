#include "index/builtin_embedder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "index/simd/simd.h"
#include "index/tokenizer.h"
#include "index/utf8.h"

namespace chaja {
namespace {

constexpr size_t kMaxSyllableGram = 3;
constexpr size_t kMinCharGram = 3, kMaxCharGram = 5;

// FNV-1a over the bytes, seeded by the feature's kind so that a word and an n-gram with the same
// bytes are different features.
uint64_t hash_bytes(std::string_view bytes, uint64_t kind) {
  uint64_t h = 1469598103934665603ull ^ (kind * 0x9E3779B97F4A7C15ull);
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  // Final avalanche (murmur3 fmix64): FNV's low bits alone are too regular for bucketing.
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

// The feature hashes of one text, reused by each thread from text to text.
std::vector<uint64_t>& feature_scratch() {
  thread_local std::vector<uint64_t> scratch;
  return scratch;
}

// Byte offsets of each code point of s, plus s.size() at the end.
std::vector<size_t> boundaries(std::string_view s) {
  std::vector<size_t> b;
  for (size_t i = 0; i < s.size();) {
    b.push_back(i);
    size_t len = 0;
    utf8::decode(s, i, len);
    i += len;
  }
  b.push_back(s.size());
  return b;
}

}  // namespace

void for_each_feature(std::string_view text, const std::function<void(uint64_t)>& fn) {
  std::string word;
  for_each_run(text, [&](const Run& run) {
    const std::string_view s = text.substr(run.start, run.end - run.start);
    if (run.kind == RunKind::kSyllabic) {
      const auto b = boundaries(s);
      const size_t n = b.size() - 1;
      for (size_t g = 1; g <= kMaxSyllableGram; ++g)
        for (size_t i = 0; i + g <= n; ++i) fn(hash_bytes(s.substr(b[i], b[i + g] - b[i]), g));
      return;
    }
    word.assign(1, '<');
    for (size_t i = 0; i < s.size();) {
      size_t len = 0;
      utf8::append(word, utf8::ascii_lower(utf8::decode(s, i, len)));
      i += len;
    }
    word += '>';
    fn(hash_bytes(word, 10));    // the whole word
    if (run.chars > 64) return;  // no n-grams of giant tokens
    const auto b = boundaries(word);
    const size_t n = b.size() - 1;
    for (size_t g = kMinCharGram; g <= kMaxCharGram; ++g)
      for (size_t i = 0; i + g <= n; ++i)
        fn(hash_bytes(std::string_view(word).substr(b[i], b[i + g] - b[i]), 10 + g));
  });
}

FeatureStats::FeatureStats() : df_(kBuckets, 0) {}

void FeatureStats::add_document(std::string_view text) {
  // Sorting a reused vector, rather than a hash set per chunk: no allocation per feature, which
  // made this and embed_one the better part of building a collection's dense side.
  std::vector<uint64_t>& buckets = feature_scratch();
  buckets.clear();
  for_each_feature(text, [&](uint64_t h) { buckets.push_back(h % kBuckets); });
  std::sort(buckets.begin(), buckets.end());
  for (size_t i = 0; i < buckets.size(); ++i)
    if (i == 0 || buckets[i] != buckets[i - 1]) ++df_[buckets[i]];
  ++documents_;
  log_documents_ = std::log(static_cast<double>(documents_) + 1.0);
}

float FeatureStats::idf(uint64_t feature_hash) const {
  if (documents_ == 0) return 1.0f;
  // log((N + 1) / (df + 1)) as a difference of logs, with log(df + 1) from a table for the
  // common small counts: a log per feature occurrence was a tenth of building the dense side.
  static const std::vector<double> kLogTable = [] {
    std::vector<double> t(4096);
    for (size_t i = 0; i < t.size(); ++i) t[i] = std::log(static_cast<double>(i) + 1.0);
    return t;
  }();
  const uint32_t df = df_[feature_hash % kBuckets];
  const double log_df = df < kLogTable.size() ? kLogTable[df] : std::log(df + 1.0);
  return static_cast<float>(log_documents_ - log_df + 1.0);
}

std::string FeatureStats::serialize() const {
  std::string out(sizeof(uint64_t) + df_.size() * sizeof(uint32_t), '\0');
  std::memcpy(out.data(), &documents_, sizeof documents_);
  std::memcpy(out.data() + sizeof documents_, df_.data(), df_.size() * sizeof(uint32_t));
  return out;
}

Result<FeatureStats> FeatureStats::deserialize(std::string_view bytes) {
  if (bytes.size() != sizeof(uint64_t) + kBuckets * sizeof(uint32_t))
    return make_error(ErrorKind::kInvalidInput, "feature statistics of the wrong size");
  FeatureStats s;
  std::memcpy(&s.documents_, bytes.data(), sizeof s.documents_);
  std::memcpy(s.df_.data(), bytes.data() + sizeof s.documents_, kBuckets * sizeof(uint32_t));
  s.log_documents_ = std::log(static_cast<double>(s.documents_) + 1.0);
  return s;
}

BuiltinEmbedder::BuiltinEmbedder(size_t dimension, std::shared_ptr<const FeatureStats> stats)
    : dimension_(dimension == 0 ? kDefaultDimension : dimension), stats_(std::move(stats)) {}

void BuiltinEmbedder::embed_one(std::string_view text, float* out) const {
  // Term frequencies by sorting the feature hashes (see FeatureStats::add_document).
  std::vector<uint64_t>& hashes = feature_scratch();
  hashes.clear();
  for_each_feature(text, [&](uint64_t h) { hashes.push_back(h); });
  std::sort(hashes.begin(), hashes.end());
  std::memset(out, 0, dimension_ * sizeof(float));
  for (size_t i = 0, next = 0; i < hashes.size(); i = next) {
    const uint64_t h = hashes[i];
    for (next = i + 1; next < hashes.size() && hashes[next] == h;) ++next;
    const auto count = static_cast<uint32_t>(next - i);
    const float weight =
        (1.0f + std::log(static_cast<float>(count))) * (stats_ ? stats_->idf(h) : 1.0f);
    // Bits apart from those FeatureStats buckets on pick the coordinate and the sign.
    const uint64_t mix = h * 0x9E3779B97F4A7C15ull;
    const size_t coordinate = (mix >> 32) % dimension_;
    out[coordinate] += (mix >> 31 & 1) ? -weight : weight;
  }
  const float norm = std::sqrt(simd::dot(out, out, dimension_));
  if (norm > 0)
    for (size_t i = 0; i < dimension_; ++i) out[i] /= norm;
}

Result<std::vector<float>> BuiltinEmbedder::embed(const std::vector<std::string>& texts,
                                                  EmbedKind) const {
  std::vector<float> out(texts.size() * dimension_);
  for (size_t i = 0; i < texts.size(); ++i) embed_one(texts[i], out.data() + i * dimension_);
  return out;
}

}  // namespace chaja
