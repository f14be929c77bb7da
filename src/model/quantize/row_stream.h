// Produces a tensor's bytes row by row in bounded memory: rows are computed in chunks by a few
// threads (each with its own f32 scratch row) and each finished chunk goes to a GGUF sink.
// Used by `tenbin quantize` (convert stored rows) and `tenbin synth` (generate random rows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "model/gguf/gguf_writer.h"
#include "util/status.h"

namespace tenbin {

struct RowStreamOptions {
  int64_t rows = 0;
  int64_t out_row_bytes = 0;             // bytes one output row takes
  int threads = 1;                       // threads computing rows (1: the calling thread only)
  size_t chunk_bytes = size_t{8} << 20;  // output bytes per chunk handed to the sink
};

// Writes output row `row` (out_row_bytes bytes) to `out`. `scratch` belongs to the calling
// thread and may be resized freely. Called concurrently for different rows.
using RowFn = std::function<Status(int64_t row, uint8_t* out, std::vector<float>& scratch)>;

// Runs row_fn for rows [0, rows) and passes the bytes to `sink` in row order.
Status stream_rows(const RowStreamOptions& options, const RowFn& row_fn, const GgufSink& sink);

// The number of threads to use when the user asked for `requested` (0: all hardware threads).
int resolve_threads(int requested);

}  // namespace tenbin
