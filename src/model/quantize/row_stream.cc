#include "model/quantize/row_stream.h"

#include <algorithm>
#include <future>
#include <thread>

namespace tenbin {
namespace {

Status run_range(const RowFn& row_fn, int64_t begin, int64_t end, int64_t first_row,
                 int64_t row_bytes, uint8_t* out, std::vector<float>& scratch) {
  for (int64_t r = begin; r < end; ++r) {
    TENBIN_RETURN_IF_ERROR(row_fn(r, out + (r - first_row) * row_bytes, scratch));
  }
  return Status::Ok();
}

}  // namespace

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 64u));
}

Status stream_rows(const RowStreamOptions& o, const RowFn& row_fn, const GgufSink& sink) {
  if (o.rows <= 0 || o.out_row_bytes <= 0) return Status::Ok();
  const int64_t chunk_rows =
      std::max<int64_t>(1, static_cast<int64_t>(o.chunk_bytes) / o.out_row_bytes);
  const size_t buffer_bytes = static_cast<size_t>(std::min(chunk_rows, o.rows) * o.out_row_bytes);
  // Two buffers: one chunk is written to the sink while the next is computed.
  std::vector<uint8_t> buffers[2] = {std::vector<uint8_t>(buffer_bytes),
                                     std::vector<uint8_t>(o.rows > chunk_rows ? buffer_bytes : 0)};
  const int threads = std::max(1, o.threads);
  std::vector<std::vector<float>> scratch(static_cast<size_t>(threads));
  std::vector<Status> results(static_cast<size_t>(threads));
  std::future<Status> pending;  // the write of the previous chunk; its destructor waits

  for (int64_t first = 0, k = 0; first < o.rows; first += chunk_rows, ++k) {
    const int64_t n = std::min(chunk_rows, o.rows - first);
    uint8_t* buffer = buffers[k % 2].data();
    const int workers = static_cast<int>(std::min<int64_t>(threads, n));
    if (workers <= 1) {
      TENBIN_RETURN_IF_ERROR(
          run_range(row_fn, first, first + n, first, o.out_row_bytes, buffer, scratch[0]));
    } else {
      std::vector<std::thread> pool;
      pool.reserve(static_cast<size_t>(workers - 1));
      auto range = [&](int w) {
        int64_t b = first + n * w / workers;
        int64_t e = first + n * (w + 1) / workers;
        results[static_cast<size_t>(w)] = run_range(row_fn, b, e, first, o.out_row_bytes, buffer,
                                                    scratch[static_cast<size_t>(w)]);
      };
      for (int w = 1; w < workers; ++w) pool.emplace_back(range, w);
      range(0);
      for (std::thread& t : pool) t.join();
      for (int w = 0; w < workers; ++w) TENBIN_RETURN_IF_ERROR(results[static_cast<size_t>(w)]);
    }
    if (pending.valid()) TENBIN_RETURN_IF_ERROR(pending.get());
    const size_t bytes = static_cast<size_t>(n * o.out_row_bytes);
    pending =
        std::async(std::launch::async, [&sink, buffer, bytes] { return sink(buffer, bytes); });
  }
  return pending.get();
}

}  // namespace tenbin
