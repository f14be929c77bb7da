// The scheduler's small policies, each on its own: the waiting queue's order (WaitingQueue),
// the per-step token budget (TokenBudget) and the choice of a preemption victim
// (PreemptionPolicy). Thread-safety: none; used by the scheduler on the engine thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "engine/scheduler/sequence.h"

namespace tenbin {

// Requests not holding blocks, served by (priority asc, arrival asc). A preempted sequence keeps
// its arrival, so it goes back to where it was rather than to the end.
class WaitingQueue {
 public:
  void push(SequenceState* seq) { set_.insert(seq); }
  SequenceState* front() const { return *set_.begin(); }
  void pop_front() { set_.erase(set_.begin()); }
  bool remove(SequenceState* seq) { return set_.erase(seq) > 0; }
  bool empty() const { return set_.empty(); }
  size_t size() const { return set_.size(); }

 private:
  std::set<SequenceState*, ServiceOrder> set_;
};

// Tokens one forward pass may carry (--max-batch-tokens). take() hands out at most what is left.
class TokenBudget {
 public:
  explicit TokenBudget(int64_t max_tokens) : left_(max_tokens) {}
  int64_t take(int64_t want) {
    const int64_t n = std::min(want, left_);
    left_ -= n;
    return n;
  }
  void give_back(int64_t n) { left_ += n; }
  int64_t left() const { return left_; }

 private:
  int64_t left_;
};

// When a running sequence needs a block and none is free, the running sequence last in service
// order (lowest priority, then most recent arrival: least invested and least urgent) gives its
// blocks back. It may be the one asking; then it waits for recompute itself.
struct PreemptionPolicy {
  static SequenceState* pick_victim(const std::vector<SequenceState*>& running) {
    return running.empty() ? nullptr
                           : *std::max_element(running.begin(), running.end(), ServiceOrder{});
  }
};

}  // namespace tenbin
