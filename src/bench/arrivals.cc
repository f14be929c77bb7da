#include "bench/arrivals.h"

#include <cmath>

namespace tenbin::bench {

ArrivalGaps::ArrivalGaps(double rate, double burstiness, uint64_t seed)
    : unpaced_(!std::isfinite(rate) || rate <= 0),
      rng_(seed),
      gamma_(burstiness > 0 ? burstiness : 1.0,
             unpaced_ ? 1.0 : 1.0 / (rate * (burstiness > 0 ? burstiness : 1.0))) {}

double ArrivalGaps::next_s() {
  return unpaced_ ? 0.0 : gamma_(rng_);
}

}  // namespace tenbin::bench
