// `tenbin plan explain`: the arithmetic behind one configuration, step by step: bytes and
// FLOPs per token, where a decode step sits on the device's roofline, how batching moves it,
// the prefill, tensor-parallel communication, memory, and the load prediction.
#pragma once

#include <string>

#include "planner/planner.h"

namespace tenbin::planner {

std::string explain_config(const PlanRequest& r, const Catalog& catalog, const PlanConfig& c);

}  // namespace tenbin::planner
