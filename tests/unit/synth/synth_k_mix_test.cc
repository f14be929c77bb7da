// tenbin synth with the K types: a demo-shaped model written as q4_k_m has the mix's type on
// every tensor (the same types llama.cpp's Q4_K_M gives this 4-layer shape), loads, and its
// logits stay near those of the f16 model synthesized from the same seed (same weights before
// quantization); the real binary accepts --type q4_k_m and q6_k.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/gguf/gguf_file.h"
#include "model/loaded_model.h"
#include "model/synth/synth_model.h"
#include "unit/test_util.h"
#include "util/thread_pool.h"

namespace tenbin::synth {
namespace {

std::vector<float> prompt_logits(const std::string& path) {
  auto m = LoadedModel::load(path);
  EXPECT_TRUE(m.ok()) << m.status().message();
  if (!m.ok()) return {};
  const std::vector<int32_t> tokens = m->tokenizer->encode("the people made water", true, false);
  auto cache = m->model->make_kv_cache(KvCache::blocks_for(64));
  EXPECT_TRUE(cache.ok());
  if (!cache.ok()) return {};
  Batch batch;
  const int32_t seq = batch.add_block_table(contiguous_block_table(64));
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.add(tokens[i], static_cast<int32_t>(i), seq, i + 1 == tokens.size());
  }
  ThreadPool pool(2);
  auto logits = m->model->forward(batch, *cache, pool);
  EXPECT_TRUE(logits.ok()) << logits.status().message();
  return logits.ok() ? *logits : std::vector<float>{};
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return dot / std::sqrt(na * nb);
}

TEST(SynthKMix, DemoQ4_K_MFollowsTheMixLoadsAndRuns) {
  test::TempDir dir;
  SynthOptions o;
  o.preset = "demo";  // 4 layers of 256 x 768: every row a multiple of 256
  o.seed = 5;
  o.type = *parse_quant_target("q4_k_m");
  const std::string mixed = dir.file("q4_k_m.gguf");
  auto summary = synth_model(o, mixed);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  auto f = GgufFile::open(mixed);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->get_int("general.file_type"), 15);
  EXPECT_EQ((*f)->get_int("general.quantization_version"), 2);
  // 4 layers: n/8 = 0 and 7n/8 = 3, so layer 3 and layer 2 ((2 - 0) % 3 == 2) get Q6_K.
  int q6 = 0, q4 = 0;
  for (const GgufTensor& t : (*f)->tensors()) {
    if (t.dims.size() == 1) {
      EXPECT_EQ(t.type, DType::kF32) << t.name;
      continue;
    }
    const bool more = t.name == "output.weight" || t.name == "blk.2.attn_v.weight" ||
                      t.name == "blk.2.ffn_down.weight" || t.name == "blk.3.attn_v.weight" ||
                      t.name == "blk.3.ffn_down.weight";
    EXPECT_EQ(t.type, more ? DType::kQ6_K : DType::kQ4_K) << t.name;
    (more ? q6 : q4) += 1;
  }
  EXPECT_EQ(q6, 5);
  EXPECT_EQ(q4, 4 * 7 - 4 + 1);

  // The same seed at f16: the logits differ only by the quantization. Random weights amplify
  // the ~7% weight error through four layers (cosine 0.975 measured); a broken format gives a
  // cosine near 0.
  o.type = DType::kF16;
  const std::string f16 = dir.file("f16.gguf");
  ASSERT_TRUE(synth_model(o, f16).ok());
  const std::vector<float> got = prompt_logits(mixed);
  const std::vector<float> want = prompt_logits(f16);
  ASSERT_EQ(got.size(), 4096u);
  ASSERT_EQ(want.size(), got.size());
  for (float v : got) ASSERT_TRUE(std::isfinite(v));
  EXPECT_GT(cosine(got, want), 0.94);  // measured 0.975
}

TEST(SynthKMix, BinaryWritesQ4_K_MAndQ6_K) {
  test::TempDir dir;
  for (const char* type : {"q4_k_m", "q5_k_m", "q6_k"}) {
    const std::string path = dir.file(std::string(type) + ".gguf");
    test::CommandResult s = test::run_tenbin(std::string("synth --preset demo --layers 1 --type ") +
                                             type + " -o '" + path + "'");
    ASSERT_EQ(s.exit_code, 0) << s.output;
    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok());
    const std::string t(type);
    EXPECT_EQ((*f)->tensor("blk.0.ffn_up.weight")->type, t == "q6_k"     ? DType::kQ6_K
                                                         : t == "q5_k_m" ? DType::kQ5_K
                                                                         : DType::kQ4_K);
    test::CommandResult r = test::run_tenbin("run -m '" + path + "' -p hi -n 4 --temp 0");
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  test::CommandResult bad = test::run_tenbin("synth --preset demo --type q3_k_m -o x.gguf");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("q4_k_m"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace tenbin::synth
