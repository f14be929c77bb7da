// A registry of metric families that renders the Prometheus text exposition format 0.0.4.
// Families are registered by name (which must start with `tenbin_`); each distinct set of
// label values is one child. Registration and expose() take a mutex; the returned metric
// pointers stay valid for the registry's lifetime and are updated lock-free from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/prometheus/metrics.h"
#include "util/status.h"

namespace tenbin::prometheus {

// Label name/value pairs; order does not matter after the family's first registration.
using Labels = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the child for `labels`, creating the family and child on first use. Fails on an
  // invalid name (counters must end in `_total`), on a name already used with another type,
  // help text, label set or bucket layout, and on invalid buckets.
  Expected<Counter*> counter(std::string_view name, std::string_view help,
                             const Labels& labels = {});
  Expected<Gauge*> gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Expected<Histogram*> histogram(std::string_view name, std::string_view help,
                                 const std::vector<double>& buckets, const Labels& labels = {});

  // The whole registry in text format 0.0.4, families in registration order.
  std::string expose() const;

 private:
  struct Family;
  enum class Type { kCounter, kGauge, kHistogram };
  Expected<Family*> family(std::string_view name, std::string_view help, Type type,
                           const Labels& labels, const std::vector<double>& buckets);
  template <class T>
  Expected<T*> child(Family& family, const Labels& labels);
  static Expected<std::vector<std::string>> label_values(const Family& family,
                                                         const Labels& labels);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::map<std::string, Family*, std::less<>> by_name_;
};

// Text-format escaping: label values escape `\`, `"` and newline; HELP escapes `\` and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// Sample values as Prometheus writes them: shortest round-trip decimal, +Inf, -Inf, NaN.
std::string format_value(double value);

}  // namespace tenbin::prometheus
