// Descriptive statistics as numpy computes them, so figures match vLLM's benchmark:
// percentiles by linear interpolation between closest ranks (numpy's default), the
// population standard deviation (ddof = 0). Empty inputs give 0, as vLLM's `x or 0` does.
#pragma once

#include <cstddef>
#include <vector>

namespace tenbin::bench {

double mean_of(const std::vector<double>& values);
double std_of(const std::vector<double>& values);
// `sorted` ascending; p in [0, 100].
double percentile_sorted(const std::vector<double>& sorted, double p);

// Mean, median, std, p90, p95, p99 and max of a sample, in the sample's unit.
struct Distribution {
  double mean = 0;
  double median = 0;
  double std = 0;
  double p90 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
  size_t count = 0;
};
Distribution describe(std::vector<double> values);

}  // namespace tenbin::bench
