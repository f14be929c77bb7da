// Prometheus metric values: Counter, Gauge and Histogram, plus the default latency buckets.
// All updates are lock-free atomics, safe from any thread; a Registry owns the objects and
// hands out stable pointers. Values are in base units (seconds, bytes, tokens).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace tenbin::prometheus {

// Monotonic count; exposed as `<name>` where the name ends in `_total`.
class Counter {
 public:
  void inc(double delta = 1.0);  // delta < 0 is ignored: counters never go down
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (running requests, KV-cache usage ratio).
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double delta = 1.0);
  void dec(double delta = 1.0) { inc(-delta); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Distribution over fixed upper bounds (`le`), plus an implicit +Inf bucket.
class Histogram {
 public:
  // `bounds` must be finite and strictly increasing (the Registry checks it).
  explicit Histogram(std::vector<double> bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0.0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0.0};
};

// Latency buckets for LLM serving, in seconds: fine resolution from 1 ms (inter-token
// latency on a GPU) through 60 s (end-to-end latency of long generations).
std::vector<double> default_latency_buckets();

// `count` bounds start, start*factor, start*factor^2, ...
std::vector<double> exponential_buckets(double start, double factor, int count);

}  // namespace tenbin::prometheus
