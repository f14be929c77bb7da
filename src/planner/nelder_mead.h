// Nelder-Mead simplex minimization: derivative-free, so robust to the kinks the roofline's
// max() and the efficiency caps put in calibration objectives.
#pragma once

#include <functional>
#include <vector>

namespace tenbin::planner {

// Minimizes `f` from `x` (updated in place) with an initial simplex of steps `step` along each
// axis, for `iterations` iterations.
void nelder_mead(const std::function<double(const std::vector<double>&)>& f, std::vector<double>& x,
                 double step, int iterations);

}  // namespace tenbin::planner
