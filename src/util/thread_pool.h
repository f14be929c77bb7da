// A fixed pool of worker threads for data-parallel kernels. The calling thread takes part,
// so a pool of N threads starts N-1 workers. parallel_for hands out grain-aligned chunks of
// [0, n) from a shared counter, so a thread that is descheduled (another process on the core)
// delays only the chunk it holds, and returns when every chunk is done. Not reentrant: one
// parallel_for at a time.
#pragma once

#include <cstdint>
#include <functional>

namespace tenbin {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads >= 1; 1 means run inline
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // fn(begin, end, thread_index) over chunks covering [0, n) exactly once; chunks are
  // multiples of `grain` (except the last) so block-aligned work stays aligned. Which thread
  // runs which chunk varies from call to call.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                    int64_t grain = 1);

  // fn(thread_index) once on every thread of the pool, all at the same time (for probes that
  // measure per-thread resources).
  void run_on_each_thread(const std::function<void(int)>& fn);

 private:
  struct Impl;
  int n_threads_;
  Impl* impl_;
};

}  // namespace tenbin
