#include "connectors/retry.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace chaja {
namespace {

using std::chrono::milliseconds;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Non-negative decimal seconds ("3", "1.5"), capped at a day to stay far from overflow.
std::optional<milliseconds> parse_seconds(std::string_view s) {
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(frac)))
    return std::nullopt;
  int64_t secs = 0;
  for (char c : whole) {
    secs = secs * 10 + (c - '0');
    if (secs > 86'400) return milliseconds(86'400'000);
  }
  int64_t ms = 0;
  int64_t scale = 100;
  for (size_t i = 0; i < frac.size() && scale > 0; ++i, scale /= 10) ms += (frac[i] - '0') * scale;
  return milliseconds(secs * 1000 + ms);
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i)
    if (kMonths[i] == m) return static_cast<int>(i);
  return -1;
}

std::optional<int> to_int(std::string_view s) {
  if (!all_digits(s) || s.size() > 4) return std::nullopt;
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// "HH:MM:SS" → seconds of the day.
std::optional<int> parse_clock(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return std::nullopt;
  auto h = to_int(s.substr(0, 2)), m = to_int(s.substr(3, 2)), sec = to_int(s.substr(6, 2));
  if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) return std::nullopt;
  return *h * 3600 + *m * 60 + *sec;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (m + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) parts.push_back(s.substr(i, j - i));
    i = j;
  }
  return parts;
}

// An HTTP date (RFC 9110 §5.6.7) as seconds since the epoch.
std::optional<int64_t> parse_http_date(std::string_view s) {
  const std::vector<std::string_view> p = split_spaces(s);
  int day = 0, month = -1, year = 0;
  std::optional<int> clock;
  if (p.size() == 6 && p[5] == "GMT") {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    auto d = to_int(p[1]), y = to_int(p[3]);
    if (!d || !y) return std::nullopt;
    day = *d, month = month_index(p[2]), year = *y, clock = parse_clock(p[4]);
  } else if (p.size() == 4 && p[3] == "GMT") {  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    const std::string_view dmy = p[1];
    if (dmy.size() != 9 || dmy[2] != '-' || dmy[6] != '-') return std::nullopt;
    auto d = to_int(dmy.substr(0, 2)), y = to_int(dmy.substr(7, 2));
    if (!d || !y) return std::nullopt;
    day = *d, month = month_index(dmy.substr(3, 3)), clock = parse_clock(p[2]);
    year = *y < 70 ? 2000 + *y : 1900 + *y;
  } else if (p.size() == 5) {  // asctime: Sun Nov  6 08:49:37 1994
    auto d = to_int(p[2]), y = to_int(p[4]);
    if (!d || !y) return std::nullopt;
    day = *d, month = month_index(p[1]), year = *y, clock = parse_clock(p[3]);
  } else {
    return std::nullopt;
  }
  if (month < 0 || !clock || day < 1 || day > 31 || year < 1970) return std::nullopt;
  return days_from_civil(year, month + 1, day) * 86'400 + *clock;
}

}  // namespace

milliseconds backoff_ceiling(const RetryPolicy& policy, int retry) {
  const int shift = std::clamp(retry - 1, 0, 30);
  const int64_t base = std::max<int64_t>(policy.base_delay.count(), 0);
  const int64_t cap = std::max<int64_t>(policy.max_delay.count(), 0);
  // base << shift without overflow: stop doubling once past the cap.
  int64_t v = base;
  for (int i = 0; i < shift && v < cap; ++i) v *= 2;
  return milliseconds(std::min(v, cap));
}

milliseconds full_jitter(milliseconds ceiling, uint64_t random) {
  if (ceiling.count() <= 0) return milliseconds(0);
  const auto span = static_cast<uint64_t>(ceiling.count()) + 1;
  return milliseconds(static_cast<int64_t>(random % span));
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty() || value.size() > 64) return std::nullopt;
  if (auto secs = parse_seconds(value)) return secs;
  const auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  const int64_t now_ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
  const int64_t diff = *when * 1000 - now_ms;
  return milliseconds(std::clamp<int64_t>(diff, 0, 86'400'000));
}

std::optional<milliseconds> retry_after_from(const HttpHeaders& headers,
                                             std::chrono::system_clock::time_point now) {
  if (auto ms = headers.get("retry-after-ms")) {
    if (auto secs = parse_seconds(trim(*ms))) return milliseconds(secs->count() / 1000);
  }
  if (auto v = headers.get("retry-after")) return parse_retry_after(*v, now);
  return std::nullopt;
}

milliseconds retry_delay(const RetryPolicy& policy, int retry,
                         std::optional<milliseconds> provider_wait, uint64_t random) {
  if (provider_wait)
    return std::clamp(*provider_wait, milliseconds(0),
                      std::max(policy.max_retry_after, milliseconds(0)));
  return full_jitter(backoff_ceiling(policy, retry), random);
}

bool retryable_status(int status) {
  return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

bool retryable_response(int status, const HttpHeaders& headers) {
  if (auto hint = headers.get("x-should-retry")) {
    if (*hint == "true") return true;
    if (*hint == "false") return false;
  }
  return retryable_status(status);
}

bool retryable_transport_error(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kUnavailable:
      return true;
    case ErrorKind::kUpstream:
      // TLS failures do not heal by themselves.
      return error.message.find("TLS failure") == std::string::npos;
    case ErrorKind::kTimeout:
      return error.message.starts_with("connect timeout");
    default:
      return false;
  }
}

uint64_t jitter_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

bool sleep_cancellable(milliseconds duration, const CancelFlag* cancel) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (true) {
    if (cancel != nullptr && cancel->load()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, milliseconds(20)));
  }
}

}  // namespace chaja
