// The planner's memory arithmetic against exact counts: tensor bytes of real GGUF files,
// parameter counts published for real models, and the rules of thumb capacity planners use.
#include <set>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "model/gguf/gguf_file.h"
#include "planner/catalog.h"
#include "planner/gguf_model.h"
#include "planner/memory_model.h"
#include "planner/model_presets.h"
#include "planner/quant_scheme.h"
#include "unit/test_data.h"

namespace tenbin::planner {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string mini(const std::string& type) {
  return test::shared_path("models/synthetic/mini-llama-random-" + type + ".gguf");
}

ModelSpec preset(const std::string& name) {
  auto m = find_model_preset(name);
  EXPECT_TRUE(m.has_value()) << name;
  return m.value_or(ModelSpec{});
}

TEST(PlannerMemory, FileWeightsAreTheTensorDataOfTheFile) {
  for (const char* type : {"f32", "f16", "q8_0", "q4_0", "q4_k_m", "q6_k"}) {
    auto file = GgufFile::open(mini(type));
    ASSERT_TRUE(file.ok()) << file.status().message();
    auto spec = model_spec_from_gguf(**file);
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    // Independent of the tensor table: the data section minus at most one alignment pad per
    // tensor holds exactly the weights.
    const int64_t data = static_cast<int64_t>((*file)->file_size() - (*file)->data_offset());
    const int64_t bytes = weight_bytes(*spec, "");
    EXPECT_LE(bytes, data) << type;
    EXPECT_GE(bytes, data - 32 * static_cast<int64_t>((*file)->tensors().size())) << type;
    EXPECT_EQ(spec->params(),
              256 * 512 * 2 + 4 * (2 * 256 + 256 * 256 * 2 + 256 * 128 * 2 + 3 * 256 * 768) + 256)
        << type;
  }
}

// Re-typing the f32 file's tensors with a scheme gives exactly the bytes llama.cpp's
// quantizer wrote for that scheme (the mini files were made with it), q4_k_m's q6_K layers
// and q6_K output matrix included.
TEST(PlannerMemory, SchemesReproduceQuantizedFilesExactly) {
  auto f32 = model_spec_from_gguf_path(mini("f32"));
  ASSERT_TRUE(f32.ok()) << f32.status().message();
  for (const auto& [scheme, file] :
       std::vector<std::pair<std::string, std::string>>{{"f16", "f16"},
                                                        {"q8_0", "q8_0"},
                                                        {"q4_0", "q4_0"},
                                                        {"q5_0", "q5_0"},
                                                        {"q6_k", "q6_k"},
                                                        {"q4_k_m", "q4_k_m"},
                                                        {"q5_k_m", "q5_k_m"}}) {
    auto quantized = model_spec_from_gguf_path(mini(file));
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    EXPECT_EQ(weight_bytes(*f32, scheme), weight_bytes(*quantized, "")) << scheme;
    EXPECT_EQ(quantized->file_quant, scheme) << file;
  }
}

TEST(PlannerMemory, BitsPerWeightFromBlockSizes) {
  EXPECT_DOUBLE_EQ(bits_per_weight(DType::kF16), 16.0);
  EXPECT_DOUBLE_EQ(bits_per_weight(DType::kQ8_0), 8.5);
  EXPECT_DOUBLE_EQ(bits_per_weight(DType::kQ4_0), 4.5);
  EXPECT_DOUBLE_EQ(bits_per_weight(DType::kQ4_K), 4.5);
  EXPECT_DOUBLE_EQ(bits_per_weight(DType::kQ6_K), 6.5625);
  // Q4_K_M on LLaMA-2-7B: q4_K with q6_K for some attn_v/ffn_down and the output: ~4.85 bpw.
  const ModelSpec m = preset("llama-2-7b");
  const double bpw = 8.0 * weight_bytes(m, "q4_k_m") / m.params();
  EXPECT_GT(bpw, 4.8);
  EXPECT_LT(bpw, 4.9);
}

// Presets list the tensors a converter writes: same names and shapes as real files.
TEST(PlannerMemory, PresetTensorsMatchRealFiles) {
  auto same_tensors = [](const ModelSpec& a, const std::string& path) {
    auto b = model_spec_from_gguf_path(path);
    ASSERT_TRUE(b.ok()) << b.status().message();
    std::set<std::tuple<std::string, int64_t, int64_t>> sa, sb;
    for (const WeightTensor& t : a.tensors) sa.insert({t.name, t.cols, t.rows});
    for (const WeightTensor& t : b->tensors) sb.insert({t.name, t.cols, t.rows});
    EXPECT_EQ(sa, sb) << path;
    EXPECT_EQ(a.tied_output, b->tied_output) << path;
    EXPECT_EQ(a.kind, b->kind) << path;
  };
  same_tensors(decoder_spec({.name = "mini",
                             .arch = "llama",
                             .n_vocab = 512,
                             .n_embd = 256,
                             .n_layer = 4,
                             .n_head = 8,
                             .n_head_kv = 4,
                             .n_ff = 768,
                             .n_ctx = 1024}),
               mini("f32"));
  same_tensors(decoder_spec({.name = "mini-qwen2",
                             .arch = "qwen2",
                             .n_vocab = 151646,
                             .n_embd = 64,
                             .n_layer = 2,
                             .n_head = 4,
                             .n_head_kv = 2,
                             .n_ff = 128,
                             .qkv_bias = true,
                             .tied_output = true}),
               test::shared_path("models/synthetic/mini-qwen2-random-f16.gguf"));
  same_tensors(encoder_spec({.name = "mini-bert",
                             .n_vocab = 30522,
                             .n_embd = 128,
                             .n_layer = 2,
                             .n_head = 4,
                             .n_ff = 512,
                             .n_ctx = 512}),
               test::shared_path("models/synthetic/mini-bert-random-f16.gguf"));
}

// Parameter counts the models' publishers state (safetensors totals).
TEST(PlannerMemory, PresetParameterCountsAreExact) {
  EXPECT_EQ(preset("llama-2-7b").params(), 6738415616);
  EXPECT_EQ(preset("llama-2-13b").params(), 13015864320);
  EXPECT_EQ(preset("llama-2-70b").params(), 68976648192);
  EXPECT_EQ(preset("llama-3-8b").params(), 8030261248);
  EXPECT_EQ(preset("qwen2-0.5b").params(), 494032768);
  // bert-base-uncased is 109,482,240 with the pooler (768 x 768 + 768), which embedding
  // models do not run.
  EXPECT_EQ(preset("bert-base").params(), 109482240 - 768 * 768 - 768);
}

TEST(PlannerMemory, KvCachePerToken) {
  EXPECT_EQ(kv_bytes_per_token(preset("llama-2-7b")), 2.0 * 32 * 32 * 128 * 2);  // 512 KiB
  EXPECT_EQ(kv_bytes_per_token(preset("llama-3-8b")), 2.0 * 32 * 8 * 128 * 2);   // GQA: 128 KiB
  EXPECT_EQ(kv_bytes_per_token(preset("llama-2-70b")), 2.0 * 80 * 8 * 128 * 2);
  EXPECT_EQ(kv_bytes_per_token(preset("bert-base")), 0.0);
  // Paged blocks: 512 + 200 = 712 tokens occupy 45 blocks of 16 = 720 token slots.
  auto catalog = load_catalog({});
  ASSERT_TRUE(catalog.ok());
  const Workload w{.concurrency = 1, .input_len = 512, .output_len = 200};
  const MemoryEstimate e =
      estimate_memory(preset("llama-2-7b"), "f16", *catalog->find("a100-80g"), 0.9, w, 1, 1);
  EXPECT_DOUBLE_EQ(e.kv_per_sequence_gib * kGiB, 720.0 * 524288);
  // Tensor parallelism splits KV heads: half per GPU at tp 2.
  const MemoryEstimate e2 =
      estimate_memory(preset("llama-2-7b"), "f16", *catalog->find("a100-80g"), 0.9, w, 2, 1);
  EXPECT_DOUBLE_EQ(e2.kv_per_sequence_gib * 2, e.kv_per_sequence_gib);
  EXPECT_DOUBLE_EQ(e2.weights_gib * 2, e.weights_gib);
}

TEST(PlannerMemory, RulesOfThumbForWeights) {
  // "7B FP16 needs ~14 GB; 13B ~26 GB" (GB = 1e9 bytes).
  EXPECT_NEAR(weight_bytes(preset("llama-2-7b"), "f16") / 1e9, 13.5, 0.5);
  EXPECT_NEAR(weight_bytes(preset("llama-2-13b"), "f16") / 1e9, 26.0, 0.5);
  // 4-bit is about a quarter of f16, 8-bit about half (scales included).
  const double f16 = weight_bytes(preset("llama-2-7b"), "f16");
  EXPECT_NEAR(weight_bytes(preset("llama-2-7b"), "q8_0") / f16, 8.5 / 16, 0.01);
  EXPECT_NEAR(weight_bytes(preset("llama-2-7b"), "q4_0") / f16, 4.5 / 16, 0.02);
}

TEST(PlannerMemory, SeventyBNeedsSeveralGpus) {
  auto catalog = load_catalog({});
  ASSERT_TRUE(catalog.ok());
  const ModelSpec m = preset("llama-2-70b");
  const Workload w{.concurrency = 1, .input_len = 512, .output_len = 200};
  for (const Device& d : catalog->devices) {
    const MemoryEstimate one = estimate_memory(m, "f16", d, 0.9, w, 1, 1);
    if (d.memory_gib <= 141) {
      EXPECT_FALSE(one.fits) << d.id;
    }
  }
  // Two 80 GB GPUs hold it (barely); the KV cache then has little room.
  const MemoryEstimate two = estimate_memory(m, "f16", *catalog->find("h100"), 0.9, w, 2, 1);
  EXPECT_TRUE(two.fits) << two.why_not;
  const MemoryEstimate eight = estimate_memory(m, "f16", *catalog->find("h100"), 0.9, w, 8, 1);
  EXPECT_GT(eight.max_batch, two.max_batch);
}

TEST(PlannerMemory, SevenBFp16DoesNotFitA16GiBGpuWithRoomToServe) {
  // "GPU memory at least 1.5x the parameter bytes": 16 GiB is 1.27x 7B's 12.6 GiB of f16
  // weights; after the runtime's share there is KV room for about one 712-token sequence.
  auto catalog = load_catalog({});
  ASSERT_TRUE(catalog.ok());
  const Workload w{.concurrency = 50, .input_len = 512, .output_len = 200};
  const MemoryEstimate t4 =
      estimate_memory(preset("llama-2-7b"), "f16", *catalog->find("t4"), 0.9, w, 1, 50);
  EXPECT_LE(t4.max_batch, 2);
  const MemoryEstimate a10 =
      estimate_memory(preset("llama-2-7b"), "f16", *catalog->find("a10"), 0.9, w, 1, 50);
  EXPECT_GE(a10.max_batch, 15);  // 24 GiB = 1.9x: a real KV cache
}

}  // namespace
}  // namespace tenbin::planner
