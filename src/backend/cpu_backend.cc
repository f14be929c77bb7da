#include "backend/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/scratch.h"
#include "tensor/blocks.h"
#include "tensor/half.h"
#include "util/large_alloc.h"

namespace tenbin::backend {
namespace {

void store_row(DType type, const float* row, uint8_t* out, int64_t n) {
  if (type == DType::kF32) {
    std::memcpy(out, row, n * sizeof(float));
  } else {
    (void)kernels::quantize_row(DType::kF16, row, out, n);
  }
}

// One kv head's row x[hd] into slot `slot` of a Q8_0 cache's K (is_key) or V array, bitwise
// what ref::store_kv_q8_0 writes: the row's q8_0 blocks, each quant and scale where
// kernels/kv_layout.h puts them (key quants four at a time, value quants a group at a time).
void store_kv_q8_0(const float* x, bool is_key, uint8_t* base, int64_t slot, int bs,
                   int64_t row_stride, int hd, int g) {
  struct BlocksTag;
  auto* blocks = kernels::thread_scratch<BlockQ8_0, BlocksTag>(static_cast<size_t>(hd / kQK));
  (void)kernels::quantize_row(DType::kQ8_0, x, blocks, hd);
  constexpr auto kLayout = kernels::KvLayout::kHeadBlocks;
  uint8_t* quants =
      base + kernels::kv_q8_quant_byte(kLayout, is_key, slot, bs, row_stride, hd, g, 0);
  uint8_t* scales = base + kernels::kv_q8_scale_byte(kLayout, slot, bs, row_stride, hd, g, 0);
  for (int group = 0; group < hd / kQK; ++group) {
    std::memcpy(scales + int64_t{group} * bs * 2, &blocks[group].d, 2);
    if (!is_key) {
      std::memcpy(quants + group * kQK, blocks[group].qs, kQK);
      continue;
    }
    for (int quad = 0; quad < kQK / 4; ++quad) {
      const int64_t at = (int64_t{group} * kQK / 4 + quad) * bs * 4;
      std::memcpy(quants + at, blocks[group].qs + quad * 4, 4);
    }
  }
}

// One kv head's row x[hd] into slot `slot` of a BF16 cache's K (is_key) or V array, as
// ref::store_kv_bf16 writes it: key elements in pairs per position, value elements d of two
// positions side by side (kernels/kv_layout.h).
void store_kv_bf16(const float* x, bool is_key, uint8_t* base, int64_t slot, int bs,
                   int64_t row_stride, int hd, int g) {
  auto* out = reinterpret_cast<uint16_t*>(base);
  for (int d = 0; d < hd; ++d) {
    out[kernels::kv_bf16_index(kernels::KvLayout::kHeadBlocks, is_key, slot, bs, row_stride, hd, g,
                               d)] = f32_to_bf16_ftz(x[d]);
  }
}

// The repacked bytes as a Buffer that frees them (sized as allocated: the packed layout's
// bytes).
Buffer owned_bytes(kernels::PackedMatrix packed) {
  const size_t size = packed.bytes.get_deleter().size;
  return Buffer(packed.bytes.release(), size, [size](void* p) { free_large(p, size); });
}

}  // namespace

void CpuBackend::for_rows(int64_t n_rows, int64_t row_elems,
                          const std::function<void(int64_t, int64_t)>& fn) {
  // Below this many elements a hand-off to the other threads costs more than it saves (a
  // decode step's single row).
  constexpr int64_t kParallelMinElems = int64_t{1} << 15;
  if (pool_ == nullptr || pool_->size() == 1 || n_rows < 2 ||
      n_rows * row_elems < kParallelMinElems) {
    fn(0, n_rows);
    return;
  }
  pool_->parallel_for(n_rows, [&](int64_t begin, int64_t end, int) { fn(begin, end); });
}

std::string CpuBackend::description() const {
  return fmt::format("cpu ({} kernels)", kernels::isa_name(kernels::best_isa()));
}

Expected<Buffer> CpuBackend::allocate(size_t bytes) {
  Buffer b = host_buffer(bytes);
  if (!b && bytes > 0) return Status::Errorf("out of host memory allocating {} bytes", bytes);
  return b;
}

void CpuBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes > 0) std::memcpy(dst, host_src, bytes);
}

void CpuBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (bytes > 0) std::memcpy(host_dst, src, bytes);
}

Expected<ResidentMatrix> CpuBackend::make_resident(const kernels::MatrixView& host) {
  ResidentMatrix m;
  std::optional<kernels::PackedMatrix> packed = kernels::pack_for_matmul(host);
  if (!packed) {
    m.view = host;  // read in place from the caller's mapping
    return m;
  }
  m.view = packed->view;
  m.bytes = owned_bytes(std::move(*packed));
  return m;
}

std::optional<ResidentMatrix> CpuBackend::make_resident_stacked(
    const std::vector<kernels::MatrixView>& parts, std::vector<kernels::MatrixView>* part_views) {
  std::optional<kernels::PackedMatrix> packed = kernels::pack_concat_for_matmul(parts, part_views);
  if (!packed) return std::nullopt;
  ResidentMatrix m;
  m.view = packed->view;
  m.bytes = owned_bytes(std::move(*packed));
  return m;
}

Status CpuBackend::begin_forward(const BatchDesc& batch, ThreadPool& pool) {
  pool_ = &pool;
  n_tokens_ = batch.n_tokens;
  table_width_ = batch.table_width;
  auto copy = [](std::vector<int32_t>& dst, const int32_t* src, int64_t n) {
    dst.assign(src, src + n);
  };
  copy(tokens_, batch.tokens, batch.n_tokens);
  copy(positions_, batch.positions, batch.n_tokens);
  copy(seq_ids_, batch.seq_ids, batch.n_tokens);
  copy(slots_, batch.slots, batch.n_tokens);
  copy(block_tables_, batch.block_tables, batch.n_seqs * batch.table_width);
  copy(output_rows_, batch.output_rows, batch.n_outputs);
  output_top_k_.clear();
  output_edit_begin_.clear();
  logit_edits_.clear();
  output_draw_.clear();
  output_logprobs_.clear();
  if (batch.output_top_k != nullptr && batch.n_outputs > 0) {
    copy(output_top_k_, batch.output_top_k, batch.n_outputs);
    copy(output_edit_begin_, batch.output_edit_begin, batch.n_outputs + 1);
    logit_edits_.assign(batch.logit_edits, batch.logit_edits + output_edit_begin_.back());
    if (batch.output_draw != nullptr) {
      output_draw_.assign(batch.output_draw, batch.output_draw + batch.n_outputs);
    }
    if (batch.output_logprobs != nullptr) {
      copy(output_logprobs_, batch.output_logprobs, batch.n_outputs);
    }
  }
  return Status::Ok();
}

void CpuBackend::embed(const kernels::MatrixView& table, float* x) {
  const OpTimer timer(profile_, OpKind::kEmbed);
  const int64_t row_size = *row_bytes(table.type, table.cols);
  for_rows(n_tokens_, table.cols, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const uint8_t* row =
          static_cast<const uint8_t*>(table.data) + static_cast<int64_t>(tokens_[t]) * row_size;
      kernels::dequantize_row(table.type, row, x + t * table.cols, table.cols);
    }
  });
}

void CpuBackend::rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n,
                          float eps) {
  const OpTimer timer(profile_, OpKind::kRmsNorm);
  for_rows(n_rows, n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) kernels::rms_norm(x + r * n, weight, y + r * n, n, eps);
  });
}

void CpuBackend::matmul(const kernels::MatrixView& w, const float* x, int64_t n_rows, float* y) {
  const OpTimer timer(profile_, OpKind::kMatmul);
  kernels::matmul(w, x, n_rows, y, *pool_);
}

void CpuBackend::add_bias(float* rows, const float* bias, int64_t n_rows, int64_t n) {
  const OpTimer timer(profile_, OpKind::kAddBias);
  for_rows(n_rows, n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) kernels::add(rows + r * n, bias, rows + r * n, n);
  });
}

void CpuBackend::copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                              int64_t n_rows, int64_t n_cols) {
  const OpTimer timer(profile_, OpKind::kCopyColumns);
  for_rows(n_rows, n_cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      std::copy(src + r * src_stride, src + r * src_stride + n_cols, dst + r * dst_stride);
    }
  });
}

void CpuBackend::rope(float* x, int n_heads, int head_dim, const kernels::RopeParams& params) {
  const OpTimer timer(profile_, OpKind::kRope);
  const int64_t width = static_cast<int64_t>(n_heads) * head_dim;
  for_rows(n_tokens_, width, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      kernels::rope(x + t * width, n_heads, head_dim, positions_[t], params);
    }
  });
}

void CpuBackend::store_kv(const KvLayer& layer, const float* k, const float* v) {
  const OpTimer timer(profile_, OpKind::kStoreKv);
  const int64_t n = layer.row_stride;
  const int hd = layer.head_dim > 0 ? layer.head_dim : static_cast<int>(n);
  const int n_kv = static_cast<int>(n / hd), bs = layer.block_size;
  auto* kd = static_cast<uint8_t*>(layer.k);
  auto* vd = static_cast<uint8_t*>(layer.v);
  if (layer.type == DType::kQ8_0 || layer.type == DType::kBF16) {
    // A head's row at a time, by the type's store. Tokens write distinct slots, so they split
    // over the threads freely.
    const auto store = layer.type == DType::kQ8_0 ? store_kv_q8_0 : store_kv_bf16;
    for_rows(n_tokens_, n, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        for (int g = 0; g < n_kv; ++g) {
          store(k + t * n + int64_t{g} * hd, true, kd, slots_[t], bs, n, hd, g);
          store(v + t * n + int64_t{g} * hd, false, vd, slots_[t], bs, n, hd, g);
        }
      }
    });
    return;
  }
  // Per kv head: the V row is one run of head_dim elements; the key is converted the same way
  // and then spread block_size elements apart (K tiles are transposed).
  const int64_t elem = kernels::kv_bytes(layer.type, 1);
  // Tokens write distinct slots, so they split over the threads freely.
  for_rows(n_tokens_, n, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> key(static_cast<size_t>(hd * elem));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t slot = slots_[t];
      for (int g = 0; g < n_kv; ++g) {
        auto index = [&](bool is_key, int d) {
          return kernels::kv_element_index(kernels::KvLayout::kHeadBlocks, is_key, slot, bs, n, hd,
                                           g, d);
        };
        store_row(layer.type, v + t * n + int64_t{g} * hd, vd + index(false, 0) * elem, hd);
        store_row(layer.type, k + t * n + int64_t{g} * hd, key.data(), hd);
        const int64_t first = index(true, 0) * elem, step = int64_t{bs} * elem;
        for (int d = 0; d < hd; ++d) std::memcpy(kd + first + d * step, &key[d * elem], elem);
      }
    }
  });
}

void CpuBackend::attention(const float* q, const KvLayer& layer,
                           const kernels::AttentionShape& shape, float* out) {
  const OpTimer timer(profile_, OpKind::kAttention);
  // A span is a run of tokens of one sequence at consecutive positions (a prefill chunk, or a
  // single decoding token). One unit of work is (piece of a span, KV head): the piece's tokens
  // and the query heads sharing the KV head attend together (kernels::attention_span), so each
  // widened K block serves ~kQueriesPerPiece queries, and a single decoding sequence still
  // spreads over every thread. Units are handed out longest context first, so the chunks the
  // threads claim last are short. Each token's result is the same however the units are split.
  constexpr int64_t kQueriesPerPiece = 64;
  const int64_t n_kv = shape.n_kv_heads, group = shape.n_heads / shape.n_kv_heads;
  const int64_t head_dim = shape.head_dim, width = shape.n_heads * head_dim;
  const int64_t max_piece = std::max<int64_t>(1, kQueriesPerPiece / group);
  struct Piece {
    int64_t first, n, work;
  };
  std::vector<Piece> pieces;
  for (int64_t t = 0; t < n_tokens_;) {
    int64_t n = 1;
    while (t + n < n_tokens_ && n < max_piece && seq_ids_[t + n] == seq_ids_[t] &&
           positions_[t + n] == positions_[t] + n) {
      ++n;
    }
    pieces.push_back({t, n, n * (positions_[t] + n)});
    t += n;
  }
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const Piece& a, const Piece& b) { return a.work > b.work; });
  kernels::AttentionShape one_group = shape;
  one_group.n_heads = static_cast<int>(group);
  one_group.n_kv_heads = 1;
  const int64_t n_units = static_cast<int64_t>(pieces.size()) * n_kv;
  pool_->parallel_for(n_units, [&](int64_t begin, int64_t end, int) {
    for (int64_t u = begin; u < end; ++u) {
      const Piece& piece = pieces[u / n_kv];
      const int64_t t = piece.first, kvh = u % n_kv;
      kernels::KvView kv;
      const int64_t head = kernels::kv_bytes(
          layer.type, kernels::kv_head_offset(kernels::KvLayout::kHeadBlocks, layer.block_size,
                                              shape.head_dim, static_cast<int>(kvh)));
      kv.k = static_cast<const uint8_t*>(layer.k) + head;
      kv.v = static_cast<const uint8_t*>(layer.v) + head;
      kv.block_table = block_tables_.data() + seq_ids_[t] * table_width_;
      kv.block_size = layer.block_size;
      kv.row_stride = layer.row_stride;
      kv.type = layer.type;
      kv.layout = kernels::KvLayout::kHeadBlocks;
      const int64_t head_offset = t * width + kvh * group * head_dim;
      kernels::attention_span(q + head_offset, width, piece.n, kv, positions_[t] + 1, one_group,
                              out + head_offset, width);
    }
  });
}

void CpuBackend::silu_mul(const float* gate, const float* up, int64_t in_stride, float* out,
                          int64_t n_rows, int64_t n) {
  const OpTimer timer(profile_, OpKind::kSiluMul);
  // Elementwise (an element's result does not depend on how many are passed at once).
  for_rows(n_rows, n, [&](int64_t begin, int64_t end) {
    if (in_stride == n) {
      kernels::silu_mul(gate + begin * n, up + begin * n, out + begin * n, (end - begin) * n);
      return;
    }
    for (int64_t r = begin; r < end; ++r) {
      kernels::silu_mul(gate + r * in_stride, up + r * in_stride, out + r * n, n);
    }
  });
}

void CpuBackend::add(const float* a, const float* b, float* out, int64_t n) {
  const OpTimer timer(profile_, OpKind::kAdd);
  // Elementwise, in slices of kSlice values (out may alias a or b: each slice reads and writes
  // only its own elements).
  constexpr int64_t kSlice = 4096;
  for_rows((n + kSlice - 1) / kSlice, kSlice, [&](int64_t begin, int64_t end) {
    const int64_t first = begin * kSlice, last = std::min(n, end * kSlice);
    kernels::add(a + first, b + first, out + first, last - first);
  });
}

void CpuBackend::gather_output_rows(const float* src, int64_t n, float* dst) {
  const OpTimer timer(profile_, OpKind::kGatherOutputs);
  for (size_t i = 0; i < output_rows_.size(); ++i) {
    std::copy(src + output_rows_[i] * n, src + (output_rows_[i] + 1) * n, dst + i * n);
  }
}

void CpuBackend::select_top_k(float* logits, int64_t n_vocab, int64_t max_k,
                              kernels::TokenCandidate* best) {
  const OpTimer timer(profile_, OpKind::kSelectTopK);
  for_rows(static_cast<int64_t>(output_top_k_.size()), n_vocab, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t k = output_top_k_[i];
      const bool draw = k == kernels::kDrawFromRow && !output_draw_.empty();
      if (k <= 0 && !draw) continue;
      float* row = logits + i * n_vocab;
      const int32_t first = output_edit_begin_[i];
      kernels::apply_logit_edits(row, n_vocab, logit_edits_.data() + first,
                                 output_edit_begin_[i + 1] - first);
      if (!draw) {
        kernels::select_top_k(row, n_vocab, std::min(k, n_vocab), best + i * max_k);
        continue;
      }
      const int32_t token = kernels::draw_over_row(row, n_vocab, output_draw_[i]);
      best[i * max_k] = {token, token >= 0 ? row[token] : 0.0f};
    }
  });
}

void CpuBackend::raw_logprobs(const float* logits, int64_t n_vocab, kernels::RowLogprobs* rows,
                              float* edit_raw) {
  const OpTimer timer(profile_, OpKind::kRawLogprobs);
  for_rows(static_cast<int64_t>(output_logprobs_.size()), n_vocab, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t n_top = output_logprobs_[i];
      if (n_top < 0) continue;
      const float* row = logits + i * n_vocab;
      kernels::row_logprobs(row, n_vocab, n_top, &rows[i]);
      for (int32_t e = output_edit_begin_[i]; e < output_edit_begin_[i + 1]; ++e) {
        const int32_t token = logit_edits_[e].token;
        edit_raw[e] = token >= 0 && token < n_vocab ? row[token] : NAN;
      }
    }
  });
}

}  // namespace tenbin::backend
