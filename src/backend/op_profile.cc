#include "backend/op_profile.h"

namespace tenbin::backend {

std::string_view op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kEmbed:
      return "embed";
    case OpKind::kRmsNorm:
      return "rms_norm";
    case OpKind::kMatmul:
      return "matmul";
    case OpKind::kAddBias:
      return "add_bias";
    case OpKind::kCopyColumns:
      return "copy_columns";
    case OpKind::kRope:
      return "rope";
    case OpKind::kStoreKv:
      return "store_kv";
    case OpKind::kAttention:
      return "attention";
    case OpKind::kSiluMul:
      return "silu_mul";
    case OpKind::kAdd:
      return "add";
    case OpKind::kGatherOutputs:
      return "gather_outputs";
    case OpKind::kSelectTopK:
      return "select_top_k";
    case OpKind::kRawLogprobs:
      return "raw_logprobs";
    case OpKind::kCount:
      break;
  }
  return "unknown";
}

double OpProfile::total_seconds() const {
  double total = 0;
  for (double s : seconds) total += s;
  return total;
}

}  // namespace tenbin::backend
