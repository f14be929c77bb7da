// Open-loop arrival times: gaps between request starts drawn from a gamma distribution with
// shape = burstiness and mean 1/rate (as vLLM's benchmark does), so burstiness 1 is a Poisson
// process, below 1 burstier, above 1 more regular. An infinite rate gives zero gaps.
#pragma once

#include <cstdint>
#include <random>

namespace tenbin::bench {

class ArrivalGaps {
 public:
  ArrivalGaps(double rate, double burstiness, uint64_t seed);
  double next_s();  // seconds until the next request

 private:
  bool unpaced_;
  std::mt19937_64 rng_;
  std::gamma_distribution<double> gamma_;
};

}  // namespace tenbin::bench
