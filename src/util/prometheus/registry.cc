// Registration checks (names, label sets, buckets) and the text exposition writer.
#include "util/prometheus/registry.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

namespace tenbin::prometheus {
namespace {

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

const char* type_name(int type) {
  static const char* kNames[] = {"counter", "gauge", "histogram"};
  return kNames[type];
}

// `{a="x",b="y"}` (with an optional extra `le` pair), or "" when there are no labels.
std::string label_block(const std::vector<std::string>& names,
                        const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += fmt::format("{}=\"{}\"", names[i], escape_label_value(values[i]));
  }
  if (!le.empty()) out += fmt::format("{}le=\"{}\"", names.empty() ? "" : ",", le);
  out += '}';
  return out;
}

}  // namespace

struct Registry::Family {
  std::string name;
  std::string help;
  Type type;
  std::vector<std::string> label_names;  // order of first registration
  std::vector<double> buckets;
  using Metric =
      std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>>;
  std::vector<std::pair<std::vector<std::string>, Metric>> children;  // insertion order
  std::map<std::vector<std::string>, size_t> index;
};

Registry::Registry() = default;
Registry::~Registry() = default;

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

Expected<std::vector<std::string>> Registry::label_values(const Family& family,
                                                          const Labels& labels) {
  if (labels.size() != family.label_names.size()) {
    return Status::Errorf("metric '{}' has {} label(s), got {}", family.name,
                          family.label_names.size(), labels.size());
  }
  std::vector<std::string> values;
  for (const std::string& name : family.label_names) {
    auto it = std::find_if(labels.begin(), labels.end(),
                           [&](const auto& kv) { return kv.first == name; });
    if (it == labels.end()) {
      return Status::Errorf("metric '{}' needs label '{}'", family.name, name);
    }
    values.push_back(it->second);
  }
  return values;
}

Expected<Registry::Family*> Registry::family(std::string_view name, std::string_view help,
                                             Type type, const Labels& labels,
                                             const std::vector<double>& buckets) {
  if (!valid_metric_name(name) || !name.starts_with("tenbin_")) {
    return Status::Errorf(
        "metric name '{}' must match [a-zA-Z_:][a-zA-Z0-9_:]* and start "
        "with 'tenbin_'",
        name);
  }
  if (type == Type::kCounter && !name.ends_with("_total")) {
    return Status::Errorf("counter name '{}' must end in '_total'", name);
  }
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    Family* f = it->second;
    if (f->type != type || f->help != help || f->buckets != buckets) {
      return Status::Errorf(
          "metric '{}' is already registered as a {} with other help text "
          "or buckets",
          name, type_name(static_cast<int>(f->type)));
    }
    return f;
  }
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  f->type = type;
  for (const auto& [label, value] : labels) {
    bool reserved = type == Type::kHistogram && label == "le";
    if (!valid_label_name(label) || reserved) {
      return Status::Errorf("metric '{}': invalid label name '{}'", name, label);
    }
    for (const std::string& seen : f->label_names) {
      if (seen == label) return Status::Errorf("metric '{}': label '{}' twice", name, label);
    }
    f->label_names.push_back(label);
  }
  if (type == Type::kHistogram) {
    if (buckets.empty()) return Status::Errorf("histogram '{}' needs at least one bucket", name);
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
        return Status::Errorf(
            "histogram '{}': buckets must be finite and strictly increasing "
            "(bucket {} is {})",
            name, i, buckets[i]);
      }
    }
    f->buckets = buckets;
  }
  Family* raw = f.get();
  families_.push_back(std::move(f));
  by_name_.emplace(raw->name, raw);
  return raw;
}

template <class T>
Expected<T*> Registry::child(Family& fam, const Labels& labels) {
  auto values = label_values(fam, labels);
  if (!values.ok()) return values.status();
  if (auto it = fam.index.find(*values); it != fam.index.end()) {
    return std::get<std::unique_ptr<T>>(fam.children[it->second].second).get();
  }
  std::unique_ptr<T> metric;
  if constexpr (std::is_same_v<T, Histogram>) {
    metric = std::make_unique<Histogram>(fam.buckets);
  } else {
    metric = std::make_unique<T>();
  }
  T* raw = metric.get();
  fam.index.emplace(*values, fam.children.size());
  fam.children.emplace_back(std::move(*values), std::move(metric));
  return raw;
}

Expected<Counter*> Registry::counter(std::string_view name, std::string_view help,
                                     const Labels& labels) {
  std::lock_guard lock(mu_);
  auto f = family(name, help, Type::kCounter, labels, {});
  if (!f.ok()) return f.status();
  return child<Counter>(**f, labels);
}

Expected<Gauge*> Registry::gauge(std::string_view name, std::string_view help,
                                 const Labels& labels) {
  std::lock_guard lock(mu_);
  auto f = family(name, help, Type::kGauge, labels, {});
  if (!f.ok()) return f.status();
  return child<Gauge>(**f, labels);
}

Expected<Histogram*> Registry::histogram(std::string_view name, std::string_view help,
                                         const std::vector<double>& buckets, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto f = family(name, help, Type::kHistogram, labels, buckets);
  if (!f.ok()) return f.status();
  return child<Histogram>(**f, labels);
}

std::string Registry::expose() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f->name, escape_help(f->help), f->name,
                       type_name(static_cast<int>(f->type)));
    for (const auto& [values, metric] : f->children) {
      std::string labels = label_block(f->label_names, values);
      if (f->type == Type::kCounter) {
        double v = std::get<std::unique_ptr<Counter>>(metric)->value();
        out += fmt::format("{}{} {}\n", f->name, labels, format_value(v));
      } else if (f->type == Type::kGauge) {
        double v = std::get<std::unique_ptr<Gauge>>(metric)->value();
        out += fmt::format("{}{} {}\n", f->name, labels, format_value(v));
      } else {
        Histogram::Snapshot s = std::get<std::unique_ptr<Histogram>>(metric)->snapshot();
        for (size_t i = 0; i <= s.bounds.size(); ++i) {
          std::string le = i < s.bounds.size() ? format_value(s.bounds[i]) : "+Inf";
          out += fmt::format("{}_bucket{} {}\n", f->name, label_block(f->label_names, values, le),
                             s.cumulative[i]);
        }
        out += fmt::format("{}_sum{} {}\n", f->name, labels, format_value(s.sum));
        out += fmt::format("{}_count{} {}\n", f->name, labels, s.count);
      }
    }
  }
  return out;
}

}  // namespace tenbin::prometheus
