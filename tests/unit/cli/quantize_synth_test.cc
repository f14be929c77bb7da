// tenbin quantize (library and binary) and tenbin synth (binary): an f16 synthetic model
// quantized to q8_0/q4_0 stays close to the original, fallback and refusal rules hold, and the
// real binary exits 0 on success and 1 with a message on bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "kernels/ops.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"
#include "model/quantize/quantize_model.h"
#include "model/synth/synth_model.h"
#include "unit/tensor_checks.h"
#include "unit/test_util.h"

namespace tenbin {
namespace {

using test::dequantized;
using test::relative_rms;

namespace fs = std::filesystem;

std::string make_f16_demo(const test::TempDir& dir) {
  synth::SynthOptions o;
  o.preset = "demo";
  o.type = DType::kF16;
  o.layers = 2;
  const std::string path = dir.file("demo-f16.gguf");
  auto s = synth::synth_model(o, path);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return path;
}

void check_quantized(DType target, double max_rel_rms) {
  test::TempDir dir;
  const std::string in_path = make_f16_demo(dir);
  const std::string out_path = dir.file("out.gguf");
  QuantizeOptions o{in_path, out_path, target, 2};
  int progress = 0;
  auto report = quantize_model(o, [&](const TensorReport&) { ++progress; });
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_LT(report->bytes_after, report->bytes_before);

  auto in = GgufFile::open(in_path);
  auto out = GgufFile::open(out_path);
  ASSERT_TRUE(in.ok() && out.ok());
  EXPECT_EQ(progress, static_cast<int>((*in)->tensors().size()));
  EXPECT_EQ((*out)->get_int("general.file_type"), llama_file_type(target));
  EXPECT_EQ((*out)->get_string("general.quantized_by"), "tenbin");
  EXPECT_EQ((*out)->get_string("general.name"), (*in)->get_string("general.name"));
  EXPECT_EQ((*out)->get_string_array("tokenizer.ggml.tokens"),
            (*in)->get_string_array("tokenizer.ggml.tokens"));
  ASSERT_EQ((*out)->tensors().size(), (*in)->tensors().size());
  for (const GgufTensor& src : (*in)->tensors()) {
    const GgufTensor* dst = (*out)->tensor(src.name);
    ASSERT_NE(dst, nullptr) << src.name;
    EXPECT_EQ(dst->dims, src.dims);
    if (src.dims.size() == 1) {
      EXPECT_EQ(dst->type, src.type) << src.name;
      continue;
    }
    EXPECT_EQ(dst->type, target) << src.name;
    double rel = relative_rms(dequantized(src), dequantized(*dst));
    EXPECT_LT(rel, max_rel_rms) << src.name;
  }
}

TEST(Quantize, F16ToQ8_0StaysClose) {
  check_quantized(DType::kQ8_0, 0.01);
}
TEST(Quantize, F16ToQ4_0StaysClose) {
  check_quantized(DType::kQ4_0, 0.15);
}

// A small model with tensors that exercise the rules: odd row lengths, norms, quantized inputs.
std::string write_rule_model(const test::TempDir& dir, DType matrix_type) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  std::vector<float> f32(48 * 4, 0.25f);
  std::vector<uint16_t> f16(40 * 2, 0x3C00);  // 1.0
  std::vector<uint8_t> q(*GgufWriter::tensor_bytes("m", matrix_type, {64, 2}));
  std::vector<float> src(128, 0.5f);
  EXPECT_TRUE(kernels::quantize_row(matrix_type, src.data(), q.data(), 128).ok());
  EXPECT_TRUE(w.add_tensor("odd.weight", DType::kF32, {48, 4}, f32.data(), f32.size() * 4).ok());
  EXPECT_TRUE(w.add_tensor("odd16.weight", DType::kF16, {40, 2}, f16.data(), f16.size() * 2).ok());
  EXPECT_TRUE(w.add_tensor("norm.weight", DType::kF32, {48}, f32.data(), 48 * 4).ok());
  EXPECT_TRUE(w.add_tensor("m.weight", matrix_type, {64, 2}, q.data(), q.size()).ok());
  const std::string path = dir.file("rules.gguf");
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

TEST(Quantize, OddRowLengthsKeepAFallbackType) {
  test::TempDir dir;
  const std::string in = write_rule_model(dir, DType::kF32);
  QuantizeOptions o{in, dir.file("o.gguf"), DType::kQ4_0, 1};
  auto report = quantize_model(o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  auto out = GgufFile::open(o.output_path);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)->tensor("odd.weight")->type, DType::kF16);
  EXPECT_EQ((*out)->tensor("odd16.weight")->type, DType::kF16);
  EXPECT_EQ((*out)->tensor("norm.weight")->type, DType::kF32);
  EXPECT_EQ((*out)->tensor("m.weight")->type, DType::kQ4_0);
  EXPECT_NE(report->tensors[0].note.find("not a multiple"), std::string::npos);
  EXPECT_EQ(dequantized(*(*out)->tensor("odd.weight"))[5], 0.25f);
}

TEST(Quantize, AlreadyQuantizedWeightsAreCopiedOnlyAtTheTargetType) {
  test::TempDir dir;
  const std::string in = write_rule_model(dir, DType::kQ4_0);
  QuantizeOptions same{in, dir.file("same.gguf"), DType::kQ4_0, 1};
  ASSERT_TRUE(quantize_model(same).ok());
  QuantizeOptions other{in, dir.file("other.gguf"), DType::kQ8_0, 1};
  auto refused = quantize_model(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'m.weight' is already quantized (q4_0)"),
            std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(fs::exists(other.output_path));
}

// Against llama.cpp's own quantizer: the shared mini-llama f32 model quantized by llama.cpp
// (build c392e50) to q8_0 / q4_0. Bytes match except rare rounding ties (llama.cpp rounds half
// away from zero) and llama.cpp's choice of q6_K for output.weight in q4_0 files.
TEST(Quantize, MatchesLlamaCppOnTheSharedMiniModel) {
  const std::string f32 = test::shared_path("models/synthetic/mini-llama-random-f32.gguf");
  if (!fs::exists(f32)) GTEST_SKIP() << "shared model missing: " << f32;
  test::TempDir dir;
  for (DType target : {DType::kQ8_0, DType::kQ4_0}) {
    const std::string name = std::string(dtype_name(target));
    QuantizeOptions o{f32, dir.file(name + ".gguf"), target, 2};
    ASSERT_TRUE(quantize_model(o).ok());
    auto ours = GgufFile::open(o.output_path);
    auto theirs =
        GgufFile::open(test::shared_path("models/synthetic/mini-llama-random-" + name + ".gguf"));
    ASSERT_TRUE(ours.ok() && theirs.ok());
    EXPECT_EQ((*ours)->get_int("general.file_type"), (*theirs)->get_int("general.file_type"));
    EXPECT_EQ((*ours)->get_int("general.quantization_version"),
              (*theirs)->get_int("general.quantization_version"));
    int64_t bytes = 0, differing = 0;
    for (const GgufTensor& t : (*theirs)->tensors()) {
      const GgufTensor* mine = (*ours)->tensor(t.name);
      ASSERT_NE(mine, nullptr) << t.name;
      if (t.type != mine->type) {
        EXPECT_EQ(t.name, "output.weight");
        continue;
      }
      ASSERT_EQ(t.n_bytes, mine->n_bytes) << t.name;
      for (int64_t i = 0; i < t.n_bytes; ++i) differing += t.data[i] != mine->data[i];
      bytes += t.n_bytes;
    }
    EXPECT_GT(bytes, 0);
    EXPECT_LT(differing, bytes / 10000 + 1) << name << ": " << differing << " of " << bytes;
  }
}

TEST(Quantize, TargetTypeNames) {
  EXPECT_EQ(*parse_target_type("Q4_0"), DType::kQ4_0);
  EXPECT_EQ(*parse_target_type("bf16"), DType::kBF16);
  EXPECT_FALSE(parse_target_type("q4_K").ok());
  EXPECT_FALSE(parse_target_type("q3_0").ok());
  EXPECT_EQ(llama_file_type(DType::kQ8_0), 7u);
  EXPECT_EQ(llama_file_type(DType::kBF16), 32u);
}

TEST(QuantizeSynthCli, SynthThenQuantizeWithTheRealBinary) {
  test::TempDir dir;
  const std::string f16 = dir.file("demo f16.gguf");  // a space in the name, quoted below
  test::CommandResult s =
      test::run_tenbin("synth --preset demo --type f16 --layers 2 --seed 3 -o '" + f16 + "'");
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_NE(s.output.find("demo (synthetic random weights)"), std::string::npos) << s.output;
  const std::string q4 = dir.file("q4.gguf");
  test::CommandResult q = test::run_tenbin("quantize '" + f16 + "' '" + q4 + "' q4_0");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find("blk.1.ffn_down.weight"), std::string::npos) << q.output;
  EXPECT_NE(q.output.find("tensors"), std::string::npos) << q.output;
  auto file = GgufFile::open(q4);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ((*file)->tensor("blk.0.attn_q.weight")->type, DType::kQ4_0);

  test::CommandResult list = test::run_tenbin("synth --list");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("qwen2-0.5b"), std::string::npos);
}

TEST(QuantizeSynthCli, BadInputExitsOneWithAMessage) {
  test::TempDir dir;
  const std::string missing = dir.file("missing.gguf");
  test::CommandResult r =
      test::run_tenbin("quantize '" + missing + "' '" + dir.file("o.gguf") + "' q8_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("missing.gguf"), std::string::npos) << r.output;

  test::CommandResult bad_type =
      test::run_tenbin("quantize '" + missing + "' '" + dir.file("o.gguf") + "' q3_0");
  EXPECT_EQ(bad_type.exit_code, 1);
  EXPECT_NE(bad_type.output.find("q3_0"), std::string::npos) << bad_type.output;

  test::CommandResult bad_preset =
      test::run_tenbin("synth --preset llama-9 -o '" + dir.file("x.gguf") + "'");
  EXPECT_EQ(bad_preset.exit_code, 1);
  EXPECT_NE(bad_preset.output.find("unknown preset 'llama-9'"), std::string::npos)
      << bad_preset.output;

  test::CommandResult bad_synth_type =
      test::run_tenbin("synth --preset demo --type q3_0 -o '" + dir.file("x.gguf") + "'");
  EXPECT_EQ(bad_synth_type.exit_code, 1);
  EXPECT_NE(bad_synth_type.output.find("q3_0"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.file("x.gguf")));
}

}  // namespace
}  // namespace tenbin
