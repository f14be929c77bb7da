// Persistent workers woken by a generation counter: a worker spins briefly on the counter (a
// decode step issues many small parallel_fors back to back), then sleeps in atomic::wait
// (a futex on Linux). The caller runs chunk 0 and then waits for the pending count to drain.
#include "util/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TENBIN_CPU_RELAX() _mm_pause()
#else
#define TENBIN_CPU_RELAX() ((void)0)
#endif

namespace tenbin {
namespace {
constexpr int kSpinIterations = 4000;  // ~tens of microseconds before sleeping
}  // namespace

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  bool stop = false;  // written before a generation bump, read after seeing it
  // The current job, published before the generation bump (release) and read after (acquire).
  const std::function<void(int64_t, int64_t, int)>* fn = nullptr;
  int64_t n = 0;
  int64_t grain = 1;
  int n_threads = 1;

  // [begin, end) of chunk `index`: contiguous, grain-aligned, as even as the grain allows.
  void chunk(int index, int64_t* begin, int64_t* end) const {
    const int64_t units = (n + grain - 1) / grain;
    const int64_t per = units / n_threads, extra = units % n_threads;
    const int64_t first = index * per + std::min<int64_t>(index, extra);
    const int64_t count = per + (index < extra ? 1 : 0);
    *begin = std::min(n, first * grain);
    *end = std::min(n, (first + count) * grain);
  }

  void run_chunk(int index) {
    int64_t begin = 0, end = 0;
    chunk(index, &begin, &end);
    if (begin < end) (*fn)(begin, end, index);
  }

  void worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation.load(std::memory_order_acquire);
      for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
        TENBIN_CPU_RELAX();
        g = generation.load(std::memory_order_acquire);
      }
      while (g == seen) {
        generation.wait(seen, std::memory_order_acquire);
        g = generation.load(std::memory_order_acquire);
      }
      seen = g;
      if (stop) return;
      run_chunk(index);
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) pending.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)), impl_(new Impl) {
  impl_->n_threads = n_threads_;
  impl_->workers.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) {
    impl_->workers.emplace_back([this, i] { impl_->worker_loop(i); });
  }
}

ThreadPool::~ThreadPool() {
  impl_->stop = true;
  impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  impl_->generation.notify_all();
  for (auto& w : impl_->workers) w.join();
  delete impl_;
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {  // one chunk: waking workers would only cost time
    fn(0, n, 0);
    return;
  }
  Impl& s = *impl_;
  s.fn = &fn;
  s.n = n;
  s.grain = grain;
  s.pending.store(n_threads_ - 1, std::memory_order_relaxed);
  s.generation.fetch_add(1, std::memory_order_acq_rel);
  s.generation.notify_all();
  s.run_chunk(0);
  int left = s.pending.load(std::memory_order_acquire);
  for (int spin = 0; left != 0 && spin < kSpinIterations; ++spin) {
    TENBIN_CPU_RELAX();
    left = s.pending.load(std::memory_order_acquire);
  }
  while (left != 0) {
    s.pending.wait(left, std::memory_order_acquire);
    left = s.pending.load(std::memory_order_acquire);
  }
  s.fn = nullptr;
}

}  // namespace tenbin
