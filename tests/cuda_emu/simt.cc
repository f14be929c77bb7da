// The SIMT emulator's scheduler (see cuda_emu/simt.h): the threads of one block are fibers
// (Boost.Context) resumed in thread order; each runs until it finishes or waits at a barrier,
// and a barrier opens once every thread it waits for has arrived.
#include "cuda_emu/simt.h"

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace tenbin::cuda_emu {
namespace ctx = boost::context;
namespace {

constexpr size_t kStackBytes = size_t{256} << 10;
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxGridYZ = 65535;

// Fiber stacks, kept for the next block: a launch creates thousands of fibers.
class StackPool {
 public:
  ~StackPool() {
    for (void* stack : free_) std::free(stack);
  }
  ctx::stack_context take() {
    void* base = nullptr;
    if (free_.empty()) {
      base = std::aligned_alloc(64, kStackBytes);
      if (base == nullptr) {
        std::fprintf(stderr, "cuda emulator: out of memory for a fiber stack\n");
        std::abort();
      }
    } else {
      base = free_.back();
      free_.pop_back();
    }
    ctx::stack_context sc;
    sc.size = kStackBytes;
    sc.sp = static_cast<char*>(base) + kStackBytes;
    return sc;
  }
  void give_back(const ctx::stack_context& sc) {
    free_.push_back(static_cast<char*>(sc.sp) - sc.size);
  }

 private:
  std::vector<void*> free_;
};

thread_local StackPool stack_pool;

// The stack allocator concept Boost.Context asks for, backed by the pool.
struct PooledStack {
  ctx::stack_context allocate() { return stack_pool.take(); }
  void deallocate(ctx::stack_context& sc) { stack_pool.give_back(sc); }
};

enum class State { kRunnable, kAtBlockBarrier, kAtWarpOp, kDone };

struct Lane {
  uint3 index{};
  int linear = 0;
  State state = State::kRunnable;
  uint64_t offered = 0;  // the value offered at the current warp op
  ctx::fiber fiber;      // the thread, while suspended
  ctx::fiber scheduler;  // the scheduler, while the thread runs
};

struct Block {
  const char* kernel = "";
  uint3 index{};
  dim3 dim;
  dim3 grid;
  std::vector<Lane> lanes;
  // The values of the warp op that opened last, per warp (read by its lanes as they resume).
  std::vector<std::array<uint64_t, kWarpSize>> exchanged;
};

thread_local Block* current_block = nullptr;
std::atomic<int64_t> grids_run{0};

// TENBIN_CUDA_EMU_STATS set: "cuda emulator: N kernel grids run, M graph launches" on stderr at
// exit, so a test can tell that work went through graphs.
struct StatsAtExit {
  ~StatsAtExit() {
    if (std::getenv("TENBIN_CUDA_EMU_STATS") == nullptr) return;
    std::fprintf(stderr, "cuda emulator: %lld kernel grids run, %lld graph launches\n",
                 static_cast<long long>(grids_run.load()),
                 static_cast<long long>(graph_launches().load()));
  }
} stats_at_exit;
thread_local Lane* current_lane = nullptr;
thread_local cudaError_t last_error = cudaSuccess;

const char* state_name(State s) {
  switch (s) {
    case State::kRunnable:
      return "running";
    case State::kAtBlockBarrier:
      return "at __syncthreads";
    case State::kAtWarpOp:
      return "at a warp-synchronous op";
    case State::kDone:
      return "exited";
  }
  return "?";
}

[[noreturn]] void fault(const Block& block, const std::string& what) {
  std::fprintf(stderr,
               "cuda emulator: kernel fault in %s, block (%u, %u, %u) of grid (%u, %u, %u), block "
               "(%u, %u, %u): %s\n",
               block.kernel, block.index.x, block.index.y, block.index.z, block.grid.x,
               block.grid.y, block.grid.z, block.dim.x, block.dim.y, block.dim.z, what.c_str());
  std::fflush(stderr);
  std::abort();
}

Lane& require_lane(const char* what) {
  if (current_lane == nullptr) {
    std::fprintf(stderr, "cuda emulator: %s called outside a kernel\n", what);
    std::abort();
  }
  return *current_lane;
}

// Suspends the calling thread in `state` until the scheduler opens its barrier.
void wait_in(State state) {
  Lane& lane = require_lane("a barrier");
  lane.state = state;
  lane.scheduler = std::move(lane.scheduler).resume();
  current_lane = &lane;  // the scheduler resumed this lane
}

// Opens the warp ops and the block barrier whose threads have all arrived; false when nothing
// could open although threads are waiting (a deadlock: a fault).
bool open_barriers(Block& block) {
  const int n = static_cast<int>(block.lanes.size());
  bool opened = false;
  for (int w0 = 0; w0 < n; w0 += kWarpSize) {
    const int w1 = std::min(n, w0 + kWarpSize);
    int at_op = 0, done = 0;
    for (int i = w0; i < w1; ++i) {
      at_op += block.lanes[i].state == State::kAtWarpOp;
      done += block.lanes[i].state == State::kDone;
    }
    if (at_op == 0) continue;
    if (at_op != w1 - w0) {
      // Lanes still running may yet arrive; lanes exited or at __syncthreads never will.
      bool running = false;
      for (int i = w0; i < w1; ++i) running |= block.lanes[i].state == State::kRunnable;
      if (running) continue;
      std::string detail;
      for (int i = w0; i < w1; ++i) {
        if (block.lanes[i].state != State::kAtWarpOp) {
          detail +=
              " lane " + std::to_string(i - w0) + " " + state_name(block.lanes[i].state) + ";";
        }
      }
      fault(block, "warp " + std::to_string(w0 / kWarpSize) +
                       ": a warp-synchronous op over the full mask is reached by " +
                       std::to_string(at_op) + " of its " + std::to_string(w1 - w0) + " lanes (" +
                       std::to_string(done) + " exited;" + detail + ")");
    }
    auto& values = block.exchanged[static_cast<size_t>(w0 / kWarpSize)];
    for (int i = w0; i < w1; ++i) {
      values[static_cast<size_t>(i - w0)] = block.lanes[i].offered;
      block.lanes[i].state = State::kRunnable;
    }
    opened = true;
  }
  if (opened) return true;
  int at_barrier = 0, done = 0;
  for (const Lane& lane : block.lanes) {
    at_barrier += lane.state == State::kAtBlockBarrier;
    done += lane.state == State::kDone;
  }
  if (at_barrier == 0) return false;
  if (at_barrier + done == n) {
    // Exited threads count as arrived, as on the device.
    for (Lane& lane : block.lanes) {
      if (lane.state == State::kAtBlockBarrier) lane.state = State::kRunnable;
    }
    return true;
  }
  return false;
}

void run_block(Block& block, const std::function<void()>& body) {
  const unsigned n = block.dim.x * block.dim.y * block.dim.z;
  block.lanes.clear();
  block.lanes.resize(n);
  for (unsigned i = 0; i < n; ++i) {
    Lane& lane = block.lanes[i];
    lane.linear = static_cast<int>(i);
    lane.index = {i % block.dim.x, (i / block.dim.x) % block.dim.y,
                  i / (block.dim.x * block.dim.y)};
    lane.fiber = ctx::fiber(std::allocator_arg, PooledStack(), [&lane, &body](ctx::fiber&& sched) {
      lane.scheduler = std::move(sched);
      current_lane = &lane;
      body();
      lane.state = State::kDone;
      return std::move(lane.scheduler);
    });
  }
  // Between two barriers the threads run one after another, in ascending order on one pass
  // and descending on the next (starting with the block's parity), so a missing barrier
  // between a write and a read of shared or global memory shows whichever thread writes.
  unsigned done = 0;
  bool descending = (block.index.x + block.index.y + block.index.z) % 2 == 1;
  while (done < n) {
    bool ran = false;
    for (unsigned i = 0; i < n; ++i) {
      Lane& lane = block.lanes[descending ? n - 1 - i : i];
      if (lane.state != State::kRunnable) continue;
      current_lane = &lane;
      lane.fiber = std::move(lane.fiber).resume();
      current_lane = nullptr;
      ran = true;
      if (lane.state == State::kDone) ++done;
    }
    descending = !descending;
    if (done == n) break;
    if (!open_barriers(block) && !ran) {
      std::string detail;
      for (const Lane& lane : block.lanes) {
        if (lane.state != State::kDone) {
          detail += " thread " + std::to_string(lane.linear) + " " + state_name(lane.state) + ";";
          if (detail.size() > 400) break;
        }
      }
      fault(block, "deadlock: threads wait at barriers that cannot open:" + detail);
    }
  }
  block.lanes.clear();  // frees the fibers' stacks back to the pool
}

}  // namespace

const uint3& thread_index() {
  return require_lane("threadIdx").index;
}
const uint3& block_index() {
  require_lane("blockIdx");
  return current_block->index;
}
const dim3& block_dim() {
  require_lane("blockDim");
  return current_block->dim;
}
const dim3& grid_dim() {
  require_lane("gridDim");
  return current_block->grid;
}

std::atomic<int64_t>& graph_launches() {
  static std::atomic<int64_t> count{0};
  return count;
}

const char* running_kernel() {
  return current_block != nullptr ? current_block->kernel : "host code";
}

int lane_id() {
  return require_lane("a warp op").linear % kWarpSize;
}

void sync_block() {
  wait_in(State::kAtBlockBarrier);
}

void warp_exchange(unsigned mask, uint64_t value, uint64_t (&all)[kWarpSize]) {
  Lane& lane = require_lane("a warp op");
  Block& block = *current_block;
  const size_t warp = static_cast<size_t>(lane.linear / kWarpSize);
  const size_t warp_lanes = std::min<size_t>(kWarpSize, block.lanes.size() - warp * kWarpSize);
  if (mask != 0xFFFFFFFFu || warp_lanes != kWarpSize) {
    fault(block, "warp op with mask " + std::to_string(mask) + " in a warp of " +
                     std::to_string(warp_lanes) +
                     " threads: the emulator runs full-mask warp ops of whole warps only");
  }
  lane.offered = value;
  wait_in(State::kAtWarpOp);
  const auto& values = block.exchanged[warp];
  for (int i = 0; i < kWarpSize; ++i) all[i] = values[static_cast<size_t>(i)];
}

void set_last_error(cudaError_t error) {
  last_error = error;
}

cudaError_t take_last_error(bool clear) {
  const cudaError_t err = last_error;
  if (clear) last_error = cudaSuccess;
  return err;
}

cudaError_t run_grid(const char* name, dim3 grid, dim3 block_dim, size_t shared_bytes,
                     const std::function<void()>& body) {
  const uint64_t threads = uint64_t{block_dim.x} * block_dim.y * block_dim.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || block_dim.z > 64 || grid.x == 0 ||
      grid.y == 0 || grid.z == 0 || grid.x > 0x7FFFFFFFu || grid.y > kMaxGridYZ ||
      grid.z > kMaxGridYZ) {
    return cudaErrorInvalidConfiguration;
  }
  if (shared_bytes > 0) {
    // Kernels here use static __shared__ arrays only (extern __shared__ has no emulation).
    std::fprintf(stderr, "cuda emulator: %s launched with dynamic shared memory\n", name);
    std::abort();
  }
  if (current_lane != nullptr) {
    std::fprintf(stderr, "cuda emulator: %s launched from inside a kernel\n", name);
    std::abort();
  }
  ++grids_run;
  Block block;
  block.kernel = name;
  block.dim = block_dim;
  block.grid = grid;
  block.exchanged.resize((threads + kWarpSize - 1) / kWarpSize);
  Block* const outer = current_block;
  current_block = &block;
  for (unsigned z = 0; z < grid.z; ++z) {
    for (unsigned y = 0; y < grid.y; ++y) {
      for (unsigned x = 0; x < grid.x; ++x) {
        block.index = {x, y, z};
        run_block(block, body);
      }
    }
  }
  current_block = outer;
  return cudaSuccess;
}

}  // namespace tenbin::cuda_emu
