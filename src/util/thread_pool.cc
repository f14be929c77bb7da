// Persistent workers woken by a generation counter: a worker spins briefly on the counter (a
// decode step issues many small parallel_fors back to back), then sleeps in atomic::wait
// (a futex on Linux). A job is a set of chunks claimed through an atomic counter by whoever
// is running, the caller included; the caller returns when all chunks are done and no worker
// still looks at the job.
//
// Lifetime of a job (it lives on the caller's stack): the caller publishes it and bumps the
// generation; a worker announces itself in `active`, then runs the published job only if it
// carries the generation the worker woke for. When the chunks are done the caller retires the
// job (another generation bump) and waits for `active` to drain, so a late worker either sees
// the retired generation and leaves, or is counted and waited for.
#include "util/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "util/cpu_relax.h"

namespace tenbin {
namespace {

constexpr int kSpinIterations = 4000;    // ~tens of microseconds before sleeping
constexpr int64_t kChunksPerThread = 4;  // balance against a thread that falls behind

struct Job {
  const std::function<void(int64_t, int64_t, int)>* fn = nullptr;
  const std::function<void(int)>* each = nullptr;  // run_on_each_thread: chunk i = thread i
  int64_t n = 0, grain = 1, units = 0;
  int32_t n_chunks = 0;
  uint32_t generation = 0;  // the pool generation that announces this job
  std::atomic<int64_t> next{0};
  std::atomic<int32_t> done{0};  // 32-bit: waited on through a futex directly

  void run_chunk(int64_t c, int thread) const {
    if (each != nullptr) {
      (*each)(thread);
      return;
    }
    const int64_t u0 = c * units / n_chunks, u1 = (c + 1) * units / n_chunks;
    const int64_t begin = u0 * grain, end = std::min(n, u1 * grain);
    if (begin < end) (*fn)(begin, end, thread);
  }

  void finish_chunk() {
    if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == n_chunks) done.notify_all();
  }

  void work(int thread) {
    if (each != nullptr) {
      if (thread < n_chunks) {
        run_chunk(thread, thread);
        finish_chunk();
      }
      return;
    }
    for (;;) {
      const int64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= n_chunks) return;
      run_chunk(c, thread);
      finish_chunk();
    }
  }
};

template <class T>
void spin_then_wait_until_changed(const std::atomic<T>& value, T old) {
  for (int spin = 0; spin < kSpinIterations; ++spin) {
    if (value.load(std::memory_order_acquire) != old) return;
    cpu_relax();
  }
  while (value.load(std::memory_order_acquire) == old) value.wait(old, std::memory_order_acquire);
}

}  // namespace

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  // 32-bit atomics only are waited on: libstdc++ 12 waits on them with a plain futex, while
  // wider ones go through a shared proxy that can miss a notify.
  std::atomic<uint32_t> generation{0};
  std::atomic<Job*> job{nullptr};
  std::atomic<int> active{0};
  std::atomic<bool> stop{false};

  void worker_loop(int index) {
    uint32_t seen = 0;
    for (;;) {
      spin_then_wait_until_changed(generation, seen);
      seen = generation.load(std::memory_order_seq_cst);
      if (stop.load(std::memory_order_acquire)) return;
      active.fetch_add(1, std::memory_order_seq_cst);
      // A job is published before its generation, so the pointer may be ahead of `seen`:
      // only the job announced by the generation this worker woke for is run (once).
      Job* j = job.load(std::memory_order_seq_cst);
      if (j != nullptr && j->generation == seen) j->work(index);
      active.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  void run(Job& j) {
    j.generation = generation.load(std::memory_order_relaxed) + 1;  // only this thread bumps
    job.store(&j, std::memory_order_seq_cst);
    generation.store(j.generation, std::memory_order_seq_cst);
    generation.notify_all();
    j.work(0);
    int32_t done = j.done.load(std::memory_order_acquire);
    while (done != j.n_chunks) {
      spin_then_wait_until_changed(j.done, done);
      done = j.done.load(std::memory_order_acquire);
    }
    // Retire the job, then wait out any worker that may still hold a pointer to it.
    job.store(nullptr, std::memory_order_seq_cst);
    generation.fetch_add(1, std::memory_order_seq_cst);
    for (int spin = 0; active.load(std::memory_order_seq_cst) != 0; ++spin) {
      if (spin < kSpinIterations) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)), impl_(new Impl) {
  impl_->workers.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) {
    impl_->workers.emplace_back([this, i] { impl_->worker_loop(i); });
  }
}

ThreadPool::~ThreadPool() {
  impl_->stop.store(true, std::memory_order_release);
  impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  impl_->generation.notify_all();
  for (auto& w : impl_->workers) w.join();
  delete impl_;
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t units = (n + grain - 1) / grain;
  if (n_threads_ == 1 || units == 1) {  // one chunk: waking workers would only cost time
    fn(0, n, 0);
    return;
  }
  Job j;
  j.fn = &fn;
  j.n = n;
  j.grain = grain;
  j.units = units;
  j.n_chunks = static_cast<int32_t>(std::min<int64_t>(units, kChunksPerThread * n_threads_));
  impl_->run(j);
}

void ThreadPool::run_on_each_thread(const std::function<void(int)>& fn) {
  if (n_threads_ == 1) {
    fn(0);
    return;
  }
  Job j;
  j.each = &fn;
  j.n_chunks = n_threads_;
  impl_->run(j);
}

}  // namespace tenbin
