// Preset shapes: the tensor list of every preset, at its full depth, has the parameter count
// the real model publishes, and llama.cpp's tensor names and GGUF dimension order.
#include "model/synth/presets.h"

#include <gtest/gtest.h>

#include <map>

#include "model/synth/synth_model.h"

namespace tenbin::synth {
namespace {

int64_t params(const std::vector<TensorSpec>& tensors) {
  int64_t total = 0;
  for (const TensorSpec& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.dims) n *= d;
    total += n;
  }
  return total;
}

TEST(SynthPresets, ParameterCountsMatchTheRealModels) {
  // Parameter counts as the models' Hugging Face pages / safetensors headers report them.
  const std::map<std::string, int64_t> published = {
      {"tinyllama-1.1b", 1100048384}, {"llama-2-7b", 6738415616}, {"llama-3-8b", 8030261248},
      {"mistral-7b", 7241732096},     {"qwen2-7b", 7615616512},   {"qwen2-0.5b", 494032768},
  };
  for (const auto& [name, count] : published) {
    const ModelPreset* p = find_preset(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(params(model_tensors(*p, DType::kQ4_0)), count) << name;
  }
}

TEST(SynthPresets, TensorNamesAndDimsFollowLlamaCpp) {
  const ModelPreset* p = find_preset("qwen2-7b");
  ASSERT_NE(p, nullptr);
  std::vector<TensorSpec> t = model_tensors(*p, DType::kQ8_0);
  std::map<std::string, TensorSpec> by_name;
  for (const TensorSpec& s : t) by_name[s.name] = s;
  EXPECT_EQ(t.front().name, "token_embd.weight");
  EXPECT_EQ(t.back().name, "output.weight");
  EXPECT_EQ(by_name["token_embd.weight"].dims, (std::vector<int64_t>{3584, 152064}));
  EXPECT_EQ(by_name["blk.0.attn_q.weight"].dims, (std::vector<int64_t>{3584, 3584}));
  EXPECT_EQ(by_name["blk.0.attn_k.weight"].dims, (std::vector<int64_t>{3584, 512}));
  EXPECT_EQ(by_name["blk.0.attn_k.bias"].dims, (std::vector<int64_t>{512}));
  EXPECT_EQ(by_name["blk.27.ffn_up.weight"].dims, (std::vector<int64_t>{3584, 18944}));
  EXPECT_EQ(by_name["blk.27.ffn_down.weight"].dims, (std::vector<int64_t>{18944, 3584}));
  EXPECT_EQ(by_name["blk.27.ffn_down.weight"].type, DType::kQ8_0);
  EXPECT_EQ(by_name["blk.0.attn_norm.weight"].type, DType::kF32);
  EXPECT_EQ(by_name["blk.0.attn_q.bias"].type, DType::kF32);
  EXPECT_EQ(by_name.count("blk.28.attn_q.weight"), 0u);

  const ModelPreset* tied = find_preset("qwen2-0.5b");
  ASSERT_NE(tied, nullptr);
  for (const TensorSpec& s : model_tensors(*tied, DType::kQ4_0)) EXPECT_NE(s.name, "output.weight");
  const ModelPreset* llama = find_preset("llama-2-7b");
  ASSERT_NE(llama, nullptr);
  for (const TensorSpec& s : model_tensors(*llama, DType::kQ4_0)) {
    EXPECT_EQ(s.name.find(".bias"), std::string::npos) << s.name;
  }
}

TEST(SynthPresets, LayerOverrideAndUnknownNames) {
  SynthOptions o;
  o.preset = "llama-3-8b";
  o.layers = 2;
  auto p = resolve_preset(o);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->n_layer, 2);
  EXPECT_EQ(model_tensors(*p, DType::kQ4_0).size(), 2u * 9 + 3);
  o.preset = "llama-9";
  auto bad = resolve_preset(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tinyllama-1.1b"), std::string::npos);
}

TEST(SynthPresets, RowLengthsNotMultipleOfBlockFallBackToF16) {
  ModelPreset p = *find_preset("demo");
  p.n_embd = 200;  // not a multiple of 32
  p.n_head = 8;
  for (const TensorSpec& s : model_tensors(p, DType::kQ4_0)) {
    if (s.dims.size() < 2) continue;
    EXPECT_EQ(s.type, s.dims[0] % 32 == 0 ? DType::kQ4_0 : DType::kF16) << s.name;
  }
}

}  // namespace
}  // namespace tenbin::synth
