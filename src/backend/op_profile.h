// Wall time per kind of backend op, summed while a profile is attached to a backend
// (Backend::set_op_profile; `tenbin perf --profile`): where a forward pass spends its time.
// Ops of the CPU backend return when their work is done, so the time of a call is its op's.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace tenbin::backend {

enum class OpKind : uint8_t {
  kEmbed,
  kRmsNorm,
  kMatmul,
  kAddBias,
  kCopyColumns,
  kRope,
  kStoreKv,
  kAttention,
  kSiluMul,
  kAdd,
  kGatherOutputs,
  kSelectTopK,
  kRawLogprobs,
  kCount
};
constexpr int kNumOpKinds = static_cast<int>(OpKind::kCount);

// "matmul", "attention", ... (as in the perf JSON).
std::string_view op_kind_name(OpKind kind);

struct OpProfile {
  std::array<double, kNumOpKinds> seconds{};
  std::array<int64_t, kNumOpKinds> calls{};

  double total_seconds() const;
};

// Adds the time from its construction to its destruction to `profile` (when not null).
class OpTimer {
 public:
  OpTimer(OpProfile* profile, OpKind kind) : profile_(profile), kind_(kind) {
    if (profile_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (profile_ == nullptr) return;
    const auto i = static_cast<size_t>(kind_);
    profile_->seconds[i] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    ++profile_->calls[i];
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpProfile* profile_;
  OpKind kind_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tenbin::backend
