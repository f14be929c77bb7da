// Regex lists of the byte-level BPE pre-tokenizers. The patterns are those the models'
// Hugging Face tokenizer.json files (and llama.cpp) use for each `tokenizer.ggml.pre`.
#include "model/tokenizer/bpe_pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>

namespace tenbin {
namespace {

constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr const char* kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// DeepSeek LLM's letter class: the cased letters (L&) of the BMP and a few astral blocks.
// Written as code points because some endpoints (U+1F7D, U+1FD3, U+1FDB, U+212A) change
// under NFC, and a copy that went through it would hold descending ranges.
constexpr const char* kDeepseekLetters =
    // clang-format off
    "\\s?[\\x{41}-\\x{5A}\\x{61}-\\x{7A}\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}"
    "\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}"
    "\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}"
    "\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"
    "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
    "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}"
    "\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}"
    "\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
    "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}"
    "\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"
    "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}"
    "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
    "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
    "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+";
// clang-format on
constexpr const char* kCjkBlocks = "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";

struct Spec {
  std::vector<std::string_view> names;
  std::vector<const char*> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
};

const std::vector<Spec>& specs() {
  static const std::vector<Spec> kSpecs = {
      {{"llama-bpe", "llama3", "llama-v3"}, {kLlama3}, true, true},
      {{"smaug-bpe", "dbrx", "chatglm-bpe"}, {kLlama3}},
      {{"qwen2", "qwen3"}, {kQwen2}},
      {{"gpt-2", "default", "mpt", "olmo", "jais", "phi-2", "roberta-bpe"}, {kGpt2}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
       {"\\p{N}", kGpt2}},
      {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"}},
      {{"deepseek-llm"},
       {"[\\r\\n]", kDeepseekLetters,
        "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
        "\\s+$", kCjkBlocks, "\\p{N}+"}},
      {{"deepseek-coder"}, {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjkBlocks, "\\p{N}"}},
  };
  return kSpecs;
}

}  // namespace

std::string BpePreTokenizer::supported_names() {
  std::string out;
  for (const Spec& spec : specs()) {
    for (std::string_view n : spec.names) {
      if (!out.empty()) out += ", ";
      out += n;
    }
  }
  return out;
}

Expected<std::unique_ptr<BpePreTokenizer>> BpePreTokenizer::create(std::string_view name) {
  const Spec* found = nullptr;
  for (const Spec& spec : specs()) {
    for (std::string_view n : spec.names) {
      if (n == name) found = &spec;
    }
  }
  if (found == nullptr) {
    return Status::Errorf("tokenizer.ggml.pre: unknown pre-tokenizer '{}' (supported: {})", name,
                          supported_names());
  }
  std::unique_ptr<BpePreTokenizer> pre(new BpePreTokenizer());
  pre->name_ = std::string(name);
  pre->ignore_merges_ = found->ignore_merges;
  pre->default_add_bos_ = found->add_bos;
  for (const char* pattern : found->regexes) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    // MATCH_INVALID_UTF: bytes that are not UTF-8 never match and end up in gap pieces.
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (code == nullptr) {
      std::array<PCRE2_UCHAR, 256> buffer{};
      pcre2_get_error_message(error, buffer.data(), buffer.size());
      return Status::Errorf("pre-tokenizer '{}': regex does not compile at offset {}: {}", name,
                            offset, reinterpret_cast<const char*>(buffer.data()));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
    pre->regexes_.push_back(code);
  }
  return pre;
}

BpePreTokenizer::~BpePreTokenizer() {
  for (void* code : regexes_) pcre2_code_free(static_cast<pcre2_code*>(code));
}

void BpePreTokenizer::split_piece(const void* code_ptr, std::string_view piece, void* md_ptr,
                                  std::vector<std::string_view>& out) const {
  const auto* code = static_cast<const pcre2_code*>(code_ptr);
  auto* md = static_cast<pcre2_match_data*>(md_ptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  size_t offset = 0;
  size_t gap_start = 0;
  while (offset < piece.size()) {
    int rc = pcre2_match(code, subject, piece.size(), offset, 0, md, nullptr);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
      // The JIT's fixed stack can run out on very long runs (e.g. 100 KB of spaces); the
      // interpreter keeps its state on the heap.
      rc = pcre2_match(code, subject, piece.size(), offset, PCRE2_NO_JIT, md, nullptr);
    }
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t start = ov[0];
    const size_t end = ov[1];
    if (end <= start) {  // empty match: try again one character later
      offset = start + 1;
      while (offset < piece.size() && (static_cast<uint8_t>(piece[offset]) & 0xC0) == 0x80) {
        ++offset;
      }
      continue;
    }
    if (start > gap_start) out.push_back(piece.substr(gap_start, start - gap_start));
    out.push_back(piece.substr(start, end - start));
    offset = gap_start = end;
  }
  if (gap_start < piece.size()) out.push_back(piece.substr(gap_start));
}

std::vector<std::string_view> BpePreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::vector<std::string_view> next;
  for (void* code : regexes_) {
    pcre2_match_data* md =
        pcre2_match_data_create_from_pattern(static_cast<pcre2_code*>(code), nullptr);
    next.clear();
    for (std::string_view piece : pieces) split_piece(code, piece, md, next);
    pcre2_match_data_free(md);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace tenbin
