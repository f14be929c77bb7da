// A fixed pool of worker threads for data-parallel kernels. The calling thread takes part,
// so a pool of N threads starts N-1 workers. parallel_for splits [0, n) into contiguous
// chunks, one per thread, and returns when all are done. Not reentrant: one parallel_for at a time.
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

  // fn(begin, end, thread_index) over a split of [0, n); chunks are multiples of `grain`
  // (except the last) so block-aligned work stays aligned.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                    int64_t grain = 1);

 private:
  struct Impl;
  int n_threads_;
  Impl* impl_;
};

}  // namespace tenbin
