// Chooses the kernel table once (CPU detection capped by TENBIN_ISA) and forwards the ops.h
// free functions to it. The scalar table is kernels/ref; SIMD tables live in kernels/cpu.
#include <cstdlib>
#include <string_view>

#include "kernels/cpu/cpu_tables.h"
#include "kernels/kernel_table.h"
#include "kernels/ops.h"
#include "kernels/packed_layout.h"
#include "kernels/ref/ref_ops.h"

namespace tenbin::kernels {
namespace {

KernelTable make_scalar_table() {
  KernelTable t;
  t.isa = Isa::kScalar;
  auto set = [&t](DType type, DequantizeRowFn fn) {
    t.types[static_cast<size_t>(type)].dequantize = fn;
  };
  set(DType::kF32, ref::dequantize_f32);
  set(DType::kF16, ref::dequantize_f16);
  set(DType::kBF16, ref::dequantize_bf16);
  set(DType::kQ4_0, ref::dequantize_q4_0);
  set(DType::kQ4_1, ref::dequantize_q4_1);
  set(DType::kQ5_0, ref::dequantize_q5_0);
  set(DType::kQ5_1, ref::dequantize_q5_1);
  set(DType::kQ8_0, ref::dequantize_q8_0);
  set(DType::kQ8_1, ref::dequantize_q8_1);
  set(DType::kQ2_K, ref::dequantize_q2_k);
  set(DType::kQ3_K, ref::dequantize_q3_k);
  set(DType::kQ4_K, ref::dequantize_q4_k);
  set(DType::kQ5_K, ref::dequantize_q5_k);
  set(DType::kQ6_K, ref::dequantize_q6_k);
  set(DType::kQ8_K, ref::dequantize_q8_k);
  for (size_t id = 0; id < kMaxTypeId; ++id) {
    if (!dtype_traits(static_cast<uint32_t>(id))) continue;
    const auto type = static_cast<DType>(id);
    t.types[id].vec_dot = ref::vec_dot_for(type);
    t.types[id].act_type = ref::dot_partner(type);
    t.quantize_act[id] = ref::quantize_act_for(type);
  }
  t.quantize_row = ref::quantize_row;
  t.matmul = ref::matmul;
  t.rms_norm = ref::rms_norm;
  t.rope = ref::rope;
  t.softmax = ref::softmax;
  t.silu_mul = ref::silu_mul;
  t.add = ref::add;
  t.attention = ref::attention;
  t.attention_span = ref::attention_span;
  return t;
}

bool cpu_has_avx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

bool cpu_has_avx512() {
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512bf16");
}

Isa select_isa() {
  Isa best = Isa::kScalar;
  if (cpu_has_avx512()) {
    best = Isa::kAvx512;
  } else if (cpu_has_avx2()) {
    best = Isa::kAvx2;
  }
  const char* env = std::getenv("TENBIN_ISA");
  if (env == nullptr) return best;
  const std::string_view cap(env);
  Isa limit = best;
  if (cap == "scalar") limit = Isa::kScalar;
  if (cap == "avx2") limit = Isa::kAvx2;
  return static_cast<int>(limit) < static_cast<int>(best) ? limit : best;
}

const KernelTable& active() {
  static const KernelTable& table = kernel_table(best_isa());
  return table;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

const KernelTable& kernel_table(Isa isa) {
  static const KernelTable scalar = make_scalar_table();
  switch (isa) {
    case Isa::kAvx2:
      return cpu::avx2_table();
    case Isa::kAvx512:
      return cpu::avx512_table();
    case Isa::kScalar:
      break;
  }
  return scalar;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas = {Isa::kScalar};
  if (cpu_has_avx2()) isas.push_back(Isa::kAvx2);
  if (cpu_has_avx512()) isas.push_back(Isa::kAvx512);
  return isas;
}

Isa best_isa() {
  static const Isa isa = select_isa();
  return isa;
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  active().of(type).dequantize(src, dst, n);
}

Status quantize_row(DType type, const float* src, void* dst, int64_t n) {
  return active().quantize_row(type, src, dst, n);
}

void matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  active().matmul(w, x, n_tokens, y, pool);
}

namespace {

// Empty bytes when the memory cannot be had.
PackedMatrix allocate_packed(size_t bytes) {
  PackedMatrix packed;
  packed.bytes = std::unique_ptr<uint8_t, FreeLarge>(static_cast<uint8_t*>(allocate_large(bytes)),
                                                     FreeLarge{bytes});
  return packed;
}

}  // namespace

std::optional<PackedMatrix> pack_for_matmul(const MatrixView& w) {
  if (!active().packs16(w.type) || !packable16(w)) return std::nullopt;
  const auto bytes = static_cast<size_t>(packed16_bytes(w));
  PackedMatrix packed = allocate_packed(bytes);
  if (!packed.bytes) return std::nullopt;
  packed.view = pack16(w, packed.bytes.get());
  return packed;
}

std::optional<PackedMatrix> pack_concat_for_matmul(const std::vector<MatrixView>& parts,
                                                   std::vector<MatrixView>* part_views) {
  if (parts.empty() || !active().packs16(parts[0].type)) return std::nullopt;
  int64_t rows = 0, bytes = 0;
  for (const MatrixView& p : parts) {
    if (!packable16(p) || p.type != parts[0].type || p.cols != parts[0].cols) return std::nullopt;
    rows += p.rows;
    bytes += packed16_bytes(p);
  }
  PackedMatrix packed = allocate_packed(static_cast<size_t>(bytes));
  if (!packed.bytes) return std::nullopt;
  // Groups are stored one after another, so packing the parts back to back packs their
  // concatenation.
  int64_t offset = 0;
  if (part_views != nullptr) part_views->clear();
  for (const MatrixView& p : parts) {
    const MatrixView v = pack16(p, packed.bytes.get() + offset);
    if (part_views != nullptr) part_views->push_back(v);
    offset += packed16_bytes(p);
  }
  packed.view =
      MatrixView{parts[0].type, packed.bytes.get(), rows, parts[0].cols, WeightLayout::kPacked16};
  return packed;
}

void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  active().rms_norm(x, weight, y, n, eps);
}

void rope(float* x, int n_heads, int head_dim, int pos, const RopeParams& params) {
  active().rope(x, n_heads, head_dim, pos, params);
}

void softmax(float* x, int64_t n) {
  active().softmax(x, n);
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  active().silu_mul(gate, up, out, n);
}

void add(const float* a, const float* b, float* out, int64_t n) {
  active().add(a, b, out, n);
}

void attention(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
               float* out) {
  active().attention(q, kv, n_ctx, shape, out);
}

void attention_span(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                    int64_t first_n_ctx, const AttentionShape& shape, float* out,
                    int64_t out_stride) {
  active().attention_span(q, q_stride, n_q, kv, first_n_ctx, shape, out, out_stride);
}

}  // namespace tenbin::kernels
