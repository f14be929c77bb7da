// Harness of the backend op checks (tenbin_op_test --backend NAME): per-backend bounds, the
// PASS/FAIL line with the backend's name as variant, ragged host batches, and moving test data
// to and from backend memory. The checks themselves are in op_test_backend_*.cc.
#include "op_test_backend.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

namespace tenbin::optest {

double BackendBounds::matmul(DType type, int64_t n_rows) const {
  if (host) return kTolMatmul;
  if (n_rows <= invariant_rows) return 1e-6;
  switch (type) {
    case DType::kF32:
    case DType::kF16:
      return 1e-6;
    case DType::kBF16:
      return 2e-5;
    default:  // block formats: the decode recipe unless f16 GEMMs were asked for
      if (!quantized_gemm) return 1e-6;
      return traits(type).block_elems == 32 ? 1e-4 : 2e-4;  // Q8_0 or Q8_K activations
  }
}

BackendBounds bounds_for(const backend::Backend& dev) {
  BackendBounds b;
  b.invariant_rows = dev.batch_invariant_rows();
  if (dev.host_memory()) return b;
  b.host = false;
  b.embed = 1e-6;
  b.rope = 1e-4;
  b.attention_f32 = 1e-4;
  b.attention_f16 = 2e-3;
  const char* gemm = std::getenv("TENBIN_CUDA_QUANT_GEMM");
  b.quantized_gemm = gemm != nullptr && *gemm != '\0';
  return b;
}

void BackendRun::check(const std::string& op, const std::string& shape, double err, double tol) {
  const bool ok = err <= tol && !std::isnan(err);
  (ok ? tally.passed : tally.failed)++;
  std::printf("%s %-22s %-7s %-40s err=%.3g tol=%.3g\n", ok ? "PASS" : "FAIL", op.c_str(),
              name.c_str(), shape.c_str(), err, tol);
}

backend::BatchDesc HostBatch::desc() const {
  backend::BatchDesc d;
  d.n_tokens = n_tokens();
  d.tokens = tokens.data();
  d.positions = positions.data();
  d.seq_ids = seq_ids.data();
  d.slots = slots.data();
  d.n_seqs = n_seqs;
  d.table_width = table_width;
  d.block_tables = block_tables.data();
  d.n_outputs = static_cast<int64_t>(output_rows.size());
  d.output_rows = output_rows.data();
  return d;
}

HostBatch ragged_batch(std::mt19937& rng, const std::vector<SeqSpec>& seqs, int block_size,
                       int32_t vocab) {
  HostBatch b;
  b.block_size = block_size;
  b.n_seqs = static_cast<int64_t>(seqs.size());
  std::vector<int64_t> blocks(seqs.size());
  int64_t used = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    blocks[s] = (seqs[s].past + seqs[s].n_new + block_size - 1) / block_size;
    used += blocks[s];
    b.table_width = std::max(b.table_width, blocks[s]);
  }
  b.n_blocks = used + 3;  // spare blocks no table names
  std::vector<int32_t> pool(static_cast<size_t>(b.n_blocks));
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng);
  b.block_tables.assign(static_cast<size_t>(b.n_seqs * b.table_width), 0);
  size_t next = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (int64_t j = 0; j < blocks[s]; ++j) b.block_tables[s * b.table_width + j] = pool[next++];
  }
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  for (int64_t s = b.n_seqs - 1; s >= 0; --s) {  // batch order differs from seq id order
    const SeqSpec& spec = seqs[static_cast<size_t>(s)];
    for (int64_t p = spec.past; p < spec.past + spec.n_new; ++p) {
      const int32_t block = b.block_tables[s * b.table_width + p / block_size];
      b.tokens.push_back(token(rng));
      b.positions.push_back(static_cast<int32_t>(p));
      b.seq_ids.push_back(static_cast<int32_t>(s));
      b.slots.push_back(static_cast<int32_t>(block * block_size + p % block_size));
    }
    b.output_rows.push_back(static_cast<int32_t>(b.tokens.size() - 1));
  }
  return b;
}

HostBatch linear_batch(int64_t n_tokens) {
  HostBatch b;
  b.n_seqs = 1;
  b.table_width = (n_tokens + b.block_size - 1) / b.block_size;
  b.n_blocks = b.table_width;
  b.block_tables.resize(static_cast<size_t>(b.table_width));
  std::iota(b.block_tables.begin(), b.block_tables.end(), 0);
  for (int64_t t = 0; t < n_tokens; ++t) {
    b.tokens.push_back(0);
    b.positions.push_back(static_cast<int32_t>(t));
    b.seq_ids.push_back(0);
    b.slots.push_back(static_cast<int32_t>(t));
    b.output_rows.push_back(static_cast<int32_t>(t));
  }
  return b;
}

backend::Buffer device_zeros(backend::Backend& dev, size_t bytes) {
  auto buf = dev.allocate(bytes);
  if (!buf.ok()) {
    std::fprintf(stderr, "%s: allocate(%zu): %s\n", dev.name().c_str(), bytes,
                 buf.status().message().c_str());
    std::exit(1);
  }
  return std::move(*buf);
}

backend::Buffer to_device(backend::Backend& dev, const void* host, size_t bytes) {
  backend::Buffer buf = device_zeros(dev, bytes);
  dev.upload(buf.data(), host, bytes);
  return buf;
}

namespace {

constexpr int64_t kGuardFloats = 64;
constexpr uint32_t kGuardBits = 0x7FC0DEADu;  // a NaN no op computes from finite inputs

}  // namespace

backend::Buffer device_output(backend::Backend& dev, int64_t n) {
  return device_output(dev, std::vector<float>(static_cast<size_t>(n)));
}

backend::Buffer device_output(backend::Backend& dev, const std::vector<float>& values) {
  std::vector<float> host = values;
  host.resize(values.size() + kGuardFloats, std::bit_cast<float>(kGuardBits));
  return to_device(dev, host);
}

std::vector<float> read_output(backend::Backend& dev, const backend::Buffer& buf, int64_t n) {
  auto out = to_host<float>(dev, buf, static_cast<size_t>(n + kGuardFloats));
  int64_t overwritten = 0;
  for (int64_t i = n; i < n + kGuardFloats; ++i) {
    overwritten += std::bit_cast<uint32_t>(out[i]) != kGuardBits;
  }
  out.resize(static_cast<size_t>(n));
  if (overwritten > 0) {
    std::printf("# %s wrote %lld values past its output of %lld\n", dev.name().c_str(),
                static_cast<long long>(overwritten), static_cast<long long>(n));
    std::fill(out.begin(), out.end(), NAN);
  }
  return out;
}

bool begin(BackendRun& run, const HostBatch& batch, const std::string& op,
           const std::string& shape) {
  const Status s = run.dev.begin_forward(batch.desc(), run.pool);
  if (s.ok()) return true;
  run.check(op, shape + " begin_forward: " + s.message(), INFINITY, 0);
  return false;
}

void run_backend_tests(backend::Backend& dev, Tally& tally, std::mt19937& rng, int n_threads) {
  ThreadPool pool(n_threads);
  BackendRun run{dev, pool, rng, tally, bounds_for(dev), dev.name()};
  std::printf("# backend %s (%s), %d threads\n", run.name.c_str(), dev.description().c_str(),
              n_threads);
  run_backend_elementwise_tests(run);
  run_backend_matmul_tests(run);
  run_backend_attention_tests(run);
  run_backend_select_tests(run);
  run_backend_logprobs_tests(run);
}

}  // namespace tenbin::optest
