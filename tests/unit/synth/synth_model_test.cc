// tenbin synth as a library: the files read back with the preset's shapes and llama.cpp keys,
// weights have the intended scale, output is deterministic, and the engine's config reader
// and tokenizer accept what synth writes.
#include "model/synth/synth_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "kernels/ops.h"
#include "model/batch.h"
#include "model/gguf/gguf_file.h"
#include "model/loaded_model.h"
#include "model/model_config.h"
#include "model/synth/vocab_gen.h"
#include "model/tokenizer/tokenizer.h"
#include "unit/tensor_checks.h"
#include "unit/test_util.h"
#include "util/thread_pool.h"

namespace tenbin::synth {
namespace {

using test::dequantized;

namespace fs = std::filesystem;

std::unique_ptr<GgufFile> synth_and_open(const SynthOptions& o, const std::string& path) {
  auto summary = synth_model(o, path);
  EXPECT_TRUE(summary.ok()) << summary.status().message();
  if (!summary.ok()) return nullptr;
  auto file = GgufFile::open(path);
  EXPECT_TRUE(file.ok()) << file.status().message();
  return file.ok() ? std::move(*file) : nullptr;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SynthModel, DemoReadsBackWithPresetShapeAndKeys) {
  test::TempDir dir;
  SynthOptions o;
  o.preset = "demo";
  o.type = DType::kF16;
  auto f = synth_and_open(o, dir.file("demo.gguf"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->architecture(), "llama");
  EXPECT_EQ(f->get_string("general.name"), "demo (synthetic random weights)");
  EXPECT_EQ(f->get_int("general.file_type"), 1);
  EXPECT_EQ(f->get_int("llama.block_count"), 4);
  EXPECT_EQ(f->get_int("llama.embedding_length"), 256);
  EXPECT_EQ(f->get_int("llama.feed_forward_length"), 768);
  EXPECT_EQ(f->get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(f->get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(f->get_int("llama.context_length"), 1024);
  EXPECT_EQ(f->get_int("llama.rope.dimension_count"), 32);
  EXPECT_FLOAT_EQ(*f->get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_FLOAT_EQ(*f->get_float("llama.rope.freq_base"), 10000.0f);
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), 4096u);
  EXPECT_EQ(f->tensors().size(), 1u + 4 * 9 + 2);

  const GgufTensor* embd = f->tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dims, (std::vector<int64_t>{256, 4096}));
  EXPECT_EQ(embd->type, DType::kF16);
  EXPECT_EQ(f->tensor("blk.3.ffn_down.weight")->dims, (std::vector<int64_t>{768, 256}));
  EXPECT_EQ(f->tensor("blk.0.attn_k.weight")->dims, (std::vector<int64_t>{256, 128}));
  const GgufTensor* norm = f->tensor("blk.2.ffn_norm.weight");
  ASSERT_EQ(norm->type, DType::kF32);
  for (float v : dequantized(*norm)) ASSERT_EQ(v, 1.0f);

  // Weights: mean ~0, standard deviation ~1/sqrt(fan_in).
  std::vector<float> up = dequantized(*f->tensor("blk.1.ffn_up.weight"));
  double sum = 0, sq = 0;
  for (float v : up) sum += v, sq += double{v} * v;
  const double mean = sum / up.size(), sd = std::sqrt(sq / up.size() - mean * mean);
  EXPECT_NEAR(mean, 0, 0.002);
  EXPECT_NEAR(sd, 1 / std::sqrt(256.0), 0.1 / std::sqrt(256.0));

  // Output rows of control and byte tokens are zero; normal tokens are not.
  std::vector<float> out = dequantized(*f->tensor("output.weight"));
  for (int64_t c = 0; c < 256; ++c) ASSERT_EQ(out[static_cast<size_t>(2 * 256 + c)], 0.0f);
  double row = 0;
  for (int64_t c = 0; c < 256; ++c) row += std::fabs(out[static_cast<size_t>(1000 * 256 + c)]);
  EXPECT_GT(row, 0.0);

  auto config = read_model_config(*f);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->n_layer, 4);
  EXPECT_EQ(config->n_head_kv, 4);
}

TEST(SynthModel, DemoLoadsAndGivesSaneLogits) {
  test::TempDir dir;
  SynthOptions o;
  o.preset = "demo";
  const std::string path = dir.file("demo.gguf");
  ASSERT_TRUE(synth_model(o, path).ok());
  auto loaded = LoadedModel::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  LlamaModel& model = *loaded->model;
  EXPECT_EQ(model.config().n_vocab, 4096);
  auto cache = model.make_kv_cache(KvCache::blocks_for(64));
  ASSERT_TRUE(cache.ok()) << cache.status().message();
  std::vector<int32_t> prompt = loaded->tokenizer->encode("the people made water", true, false);
  Batch batch;
  const int32_t seq = batch.add_block_table(contiguous_block_table(64));
  for (size_t i = 0; i < prompt.size(); ++i) {
    batch.add(prompt[i], static_cast<int32_t>(i), seq, i + 1 == prompt.size());
  }
  ThreadPool pool(1);
  auto logits = model.forward(batch, *cache, pool);
  ASSERT_TRUE(logits.ok()) << logits.status().message();
  ASSERT_EQ(logits->size(), 4096u);
  double sq = 0;
  for (float v : *logits) {
    ASSERT_TRUE(std::isfinite(v));
    sq += double{v} * v;
  }
  const double rms = std::sqrt(sq / logits->size());
  EXPECT_GT(rms, 0.05);  // the random model is neither dead...
  EXPECT_LT(rms, 20.0);  // ...nor saturated
}

TEST(SynthModel, SameSeedSameBytesWhateverTheThreadCount) {
  test::TempDir dir;
  SynthOptions o;
  o.preset = "demo";
  o.type = DType::kQ4_0;
  o.seed = 7;
  o.threads = 1;
  ASSERT_TRUE(synth_model(o, dir.file("a.gguf")).ok());
  o.threads = 3;
  ASSERT_TRUE(synth_model(o, dir.file("b.gguf")).ok());
  o.seed = 8;
  ASSERT_TRUE(synth_model(o, dir.file("c.gguf")).ok());
  const std::string a = read_all(dir.file("a.gguf"));
  EXPECT_EQ(a, read_all(dir.file("b.gguf")));
  EXPECT_NE(a, read_all(dir.file("c.gguf")));
}

TEST(SynthModel, TinyLlamaOneLayerQ4_0) {
  test::TempDir dir;
  SynthOptions o;
  o.preset = "tinyllama-1.1b";
  o.layers = 1;
  auto f = synth_and_open(o, dir.file("tl.gguf"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->get_int("general.file_type"), 2);
  EXPECT_EQ(f->get_int("llama.block_count"), 1);
  EXPECT_EQ(f->get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(f->get_int("llama.rope.dimension_count"), 64);
  EXPECT_EQ(f->tensor("token_embd.weight")->type, DType::kQ4_0);
  EXPECT_EQ(f->tensor("blk.0.attn_v.weight")->dims, (std::vector<int64_t>{2048, 256}));
  EXPECT_EQ(f->tensor("blk.0.ffn_gate.weight")->dims, (std::vector<int64_t>{2048, 5632}));
  EXPECT_EQ(f->tensor("output.weight")->dims, (std::vector<int64_t>{2048, 32000}));
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
}

TEST(SynthModel, Qwen2HalfBillionOneLayerHasBiasesAndTiedEmbeddings) {
  test::TempDir dir;
  SynthOptions o;
  o.preset = "qwen2-0.5b";
  o.type = DType::kQ8_0;
  o.layers = 1;
  auto f = synth_and_open(o, dir.file("q.gguf"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->architecture(), "qwen2");
  EXPECT_EQ(f->get_int("general.file_type"), 7);
  EXPECT_EQ(f->get_int("qwen2.embedding_length"), 896);
  EXPECT_EQ(f->get_int("qwen2.attention.head_count"), 14);
  EXPECT_EQ(f->get_int("qwen2.attention.head_count_kv"), 2);
  EXPECT_FLOAT_EQ(*f->get_float("qwen2.rope.freq_base"), 1e6f);
  EXPECT_FLOAT_EQ(*f->get_float("qwen2.attention.layer_norm_rms_epsilon"), 1e-6f);
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(f->get_bool("tokenizer.ggml.add_bos_token"), false);
  EXPECT_EQ(f->tensor("output.weight"), nullptr);
  ASSERT_NE(f->tensor("blk.0.attn_k.bias"), nullptr);
  EXPECT_EQ(f->tensor("blk.0.attn_k.bias")->dims, (std::vector<int64_t>{128}));
  EXPECT_EQ(f->tensor("token_embd.weight")->dims, (std::vector<int64_t>{896, 151936}));
  auto model = LlamaModel::load(*f);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_TRUE((*model)->config().tied_output);
  EXPECT_TRUE((*model)->config().qkv_bias);
  EXPECT_EQ((*model)->config().n_vocab, 151936);
}

// Vocab-only GGUFs (no tensors) of each family, loaded by the engine's tokenizer.
TEST(SynthModel, TokenizersLoadAndRoundTripText) {
  test::TempDir dir;
  struct Case {
    VocabFamily family;
    ChatStyle chat;
    int64_t n_vocab;
  };
  for (const Case& c : {Case{VocabFamily::kSpm, ChatStyle::kLlama2, 32000},
                        Case{VocabFamily::kLlama3, ChatStyle::kLlama3, 128256},
                        Case{VocabFamily::kQwen2, ChatStyle::kChatMl, 152064}}) {
    auto vocab = make_vocab(c.family, c.chat, c.n_vocab);
    ASSERT_TRUE(vocab.ok()) << vocab.status().message();
    GgufWriter w;
    w.set("general.architecture", GgufValue::of_string("llama"));
    add_vocab_metadata(*vocab, w);
    const std::string path = dir.file("vocab.gguf");
    ASSERT_TRUE(w.write(path).ok());
    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.status().message();
    auto tok = Tokenizer::from_gguf(**f);
    ASSERT_TRUE(tok.ok()) << vocab->model << ": " << tok.status().message();
    EXPECT_EQ((*tok)->n_vocab(), c.n_vocab);
    EXPECT_EQ((*tok)->bos_id(), vocab->bos);
    const std::string text =
        "the water was made of people, 42 times!\n\tCaf\xC3\xA9 \xF0\x9F\x99\x82";
    std::vector<int32_t> ids = (*tok)->encode(text, false, false);
    EXPECT_LT(ids.size(), text.size()) << vocab->pre << ": multi-character pieces are used";
    StreamingDetokenizer detok(**tok, c.family == VocabFamily::kSpm);
    std::string back;
    for (int32_t id : ids) back += detok.push(id);
    back += detok.flush();
    EXPECT_EQ(back, text) << vocab->pre;
    if (c.family != VocabFamily::kSpm) {
      const std::string special = c.family == VocabFamily::kLlama3 ? "<|eot_id|>" : "<|im_end|>";
      std::vector<int32_t> sp = (*tok)->encode(special, false, true);
      ASSERT_EQ(sp.size(), 1u) << special;
      EXPECT_EQ(sp[0], vocab->eot);
      EXPECT_TRUE((*tok)->is_end_of_generation(vocab->eot));
    }
  }
}

// Every preset at one layer: the full-size embeddings make this the slowest synth test (about
// 15 s on two cores, up to 700 MB of temporary files).
TEST(SynthModel, EveryPresetWritesWithOneLayer) {
  test::TempDir dir;
  for (const ModelPreset& p : model_presets()) {
    SynthOptions o;
    o.preset = p.name;
    o.layers = 1;
    auto f = synth_and_open(o, dir.file("m.gguf"));
    ASSERT_NE(f, nullptr) << p.name;
    EXPECT_EQ(f->get_int(p.arch + ".embedding_length"), p.n_embd);
    EXPECT_EQ(f->tensor("token_embd.weight")->dims, (std::vector<int64_t>{p.n_embd, p.n_vocab}));
    EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), static_cast<size_t>(p.n_vocab));
    auto model = LlamaModel::load(*f);
    EXPECT_TRUE(model.ok()) << p.name << ": " << model.status().message();
  }
}

// The whole TinyLlama at q4_0 (591 MiB, about 4 s on two idle cores; longer under load), so it
// is opt-in: --gtest_also_run_disabled_tests.
TEST(SynthModel, DISABLED_FullTinyLlamaQ4_0) {
  test::TempDir dir;
  SynthOptions o;
  o.preset = "tinyllama-1.1b";
  auto f = synth_and_open(o, dir.file("tl.gguf"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->tensors().size(), 1u + 22 * 9 + 2);
  int64_t params = 0;
  for (const GgufTensor& t : f->tensors()) params += t.n_elements;
  EXPECT_EQ(params, 1100048384);
  EXPECT_EQ(f->tensor("blk.21.ffn_down.weight")->dims, (std::vector<int64_t>{5632, 2048}));
  auto model = LlamaModel::load(*f);
  EXPECT_TRUE(model.ok()) << model.status().message();
}

}  // namespace
}  // namespace tenbin::synth
