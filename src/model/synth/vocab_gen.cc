#include "model/synth/vocab_gen.h"

#include <array>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

namespace tenbin::synth {
namespace {

// Frequent English words, so synthetic vocabularies hold real-looking pieces.
constexpr std::array<std::string_view, 96> kWords = {
    "the",   "of",    "and",   "to",     "in",   "is",   "you",   "that",   "it",    "he",
    "was",   "for",   "on",    "are",    "as",   "with", "his",   "they",   "at",    "be",
    "this",  "have",  "from",  "or",     "one",  "had",  "by",    "word",   "but",   "not",
    "what",  "all",   "were",  "we",     "when", "your", "can",   "said",   "there", "use",
    "an",    "each",  "which", "she",    "do",   "how",  "their", "if",     "will",  "up",
    "other", "about", "out",   "many",   "then", "them", "these", "so",     "some",  "her",
    "would", "make",  "like",  "him",    "into", "time", "has",   "look",   "two",   "more",
    "write", "go",    "see",   "number", "no",   "way",  "could", "people", "my",    "than",
    "first", "water", "been",  "call",   "who",  "oil",  "its",   "now",    "find",  "long",
    "down",  "day",   "did",   "get",    "come", "made"};

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 "▁"

// Lowercase letter strings of length `len`, in order, for index < 26^len.
std::string letters(int len, int64_t index) {
  std::string s(static_cast<size_t>(len), 'a');
  for (int i = len - 1; i >= 0; --i) {
    s[static_cast<size_t>(i)] = static_cast<char>('a' + index % 26);
    index /= 26;
  }
  return s;
}

int64_t pow26(int len) {
  int64_t n = 1;
  for (int i = 0; i < len; ++i) n *= 26;
  return n;
}

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string chat_template(ChatStyle style) {
  switch (style) {
    case ChatStyle::kLlama2:
      return "{% for message in messages %}{% if message['role'] == 'system' %}"
             "{{ bos_token + '[INST] <<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n' }}"
             "{% elif message['role'] == 'user' %}"
             "{% if loop.index0 == 1 and messages[0]['role'] == 'system' %}"
             "{{ message['content'] + ' [/INST]' }}{% else %}"
             "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}"
             "{% else %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}";
    case ChatStyle::kZephyr:
      return "{% for message in messages %}"
             "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
             "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";
    case ChatStyle::kMistral:
      return "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
             "{{ '[INST] ' + message['content'] + ' [/INST]' }}"
             "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
             "{% endif %}{% endfor %}";
    case ChatStyle::kLlama3:
      return "{{ bos_token }}{% for message in messages %}"
             "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
             "message['content'] + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
             "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
    case ChatStyle::kChatMl:
      return "{% for message in messages %}"
             "{% if loop.first and messages[0]['role'] != 'system' %}"
             "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
             "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
             "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif "
             "%}";
  }
  return "";
}

// Appends unique normal pieces until the vocabulary is full.
class SpmBuilder {
 public:
  SpmBuilder(SynthVocab& v, size_t limit) : v_(v), limit_(limit) {
    for (const std::string& t : v_.tokens) seen_.insert(t);
  }
  bool full() const { return v_.tokens.size() >= limit_; }
  void add(const std::string& piece) {
    if (full() || !seen_.insert(piece).second) return;
    v_.tokens.push_back(piece);
    v_.scores.push_back(-static_cast<float>(++normal_));
    v_.token_types.push_back(kTokenNormal);
  }

 private:
  SynthVocab& v_;
  size_t limit_;
  std::unordered_set<std::string> seen_;
  int64_t normal_ = 0;
};

Expected<SynthVocab> make_spm(int64_t n_vocab) {
  if (n_vocab < 400) return Status::Errorf("SentencePiece vocab size {} is below 400", n_vocab);
  SynthVocab v;
  v.model = "llama";
  auto control = [&](std::string text, int32_t type) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(0);
    v.token_types.push_back(type);
  };
  control("<unk>", kTokenUnknown);
  control("<s>", kTokenControl);
  control("</s>", kTokenControl);
  for (int b = 0; b < 256; ++b) control(fmt::format("<0x{:02X}>", b), kTokenByte);
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;

  SpmBuilder sb(v, static_cast<size_t>(n_vocab));
  const std::string space(kSpmSpace);
  sb.add(space);
  for (char c = 'a'; c <= 'z'; ++c) sb.add(std::string(1, c));
  for (char c = 'A'; c <= 'Z'; ++c) sb.add(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) sb.add(space + c);
  for (char c = 'A'; c <= 'Z'; ++c) sb.add(space + c);
  for (char c = '!'; c <= '~'; ++c) sb.add(std::string(1, c));  // digits and punctuation
  // Every prefix of a word is a piece, so merging pairs can reach the whole word.
  for (std::string_view w : kWords) {
    for (size_t k = 2; k <= w.size(); ++k) {
      sb.add(std::string(w.substr(0, k)));
      sb.add(space + std::string(w.substr(0, k)));
    }
  }
  for (int len = 2; !sb.full(); ++len) {
    for (int64_t i = 0; i < pow26(len) && !sb.full(); ++i) {
      std::string s = letters(len, i);
      sb.add(s);
      sb.add(space + s);
    }
  }
  return v;
}

// Byte-level BPE pieces: every token after the 256 byte chars is the result of one merge.
class BpeBuilder {
 public:
  BpeBuilder(SynthVocab& v, size_t limit) : v_(v), limit_(limit) {}
  bool full() const { return v_.tokens.size() >= limit_; }
  void add_token(const std::string& t) {
    seen_.insert(t);
    v_.tokens.push_back(t);
    v_.token_types.push_back(kTokenNormal);
  }
  bool has(const std::string& t) const { return seen_.count(t) != 0; }
  // Adds a+b as a token (and the merge) unless it exists; both parts must be tokens.
  void merge(const std::string& a, const std::string& b) {
    if (full() || !has(a) || !has(b) || has(a + b)) return;
    add_token(a + b);
    v_.merges.push_back(a + " " + b);
  }

 private:
  SynthVocab& v_;
  size_t limit_;
  std::unordered_set<std::string> seen_;
};

// GPT-2's byte-to-unicode map: printable bytes stand for themselves, the others are moved to
// U+0100 and up, so every byte is a visible character.
std::array<std::string, 256> byte_chars(std::vector<int>& order) {
  std::array<std::string, 256> chars;
  auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    chars[static_cast<size_t>(b)] = utf8(printable(b) ? static_cast<uint32_t>(b) : next++);
    if (printable(b)) order.push_back(b);
  }
  for (int b = 0; b < 256; ++b) {
    if (!printable(b)) order.push_back(b);
  }
  return chars;
}

Expected<SynthVocab> make_bpe(VocabFamily family, int64_t n_vocab) {
  const bool llama3 = family == VocabFamily::kLlama3;
  std::vector<std::string> specials;
  int64_t n_regular = 0;
  SynthVocab v;
  v.model = "gpt2";
  if (llama3) {
    // Meta-Llama-3: 128000 <|begin_of_text|>, 128001 <|end_of_text|>, headers at 128006/7,
    // 128009 <|eot_id|>, the rest reserved.
    if (n_vocab < 256 + 1024)
      return Status::Errorf("llama-bpe vocab size {} is too small", n_vocab);
    int reserved = 0;
    for (int i = 0; i < 256; ++i) {
      switch (i) {
        case 0:
          specials.push_back("<|begin_of_text|>");
          break;
        case 1:
          specials.push_back("<|end_of_text|>");
          break;
        case 6:
          specials.push_back("<|start_header_id|>");
          break;
        case 7:
          specials.push_back("<|end_header_id|>");
          break;
        case 9:
          specials.push_back("<|eot_id|>");
          break;
        default:
          specials.push_back(fmt::format("<|reserved_special_token_{}|>", reserved++));
      }
    }
    n_regular = n_vocab - 256;
    v.pre = "llama-bpe";
    v.bos = static_cast<int32_t>(n_regular);
    v.eos = static_cast<int32_t>(n_regular + 9);  // instruct models end turns with <|eot_id|>
    v.eot = v.eos;
    v.add_bos = true;
  } else {
    // Qwen2: 151,643 regular tokens, then <|endoftext|> <|im_start|> <|im_end|>; the embedding
    // rows beyond are padding tokens "[PADn]" as llama.cpp's converter names them.
    if (n_vocab < 3 + 1024) return Status::Errorf("qwen2 vocab size {} is too small", n_vocab);
    specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    n_regular = std::min<int64_t>(151643, n_vocab - 3);
    v.pre = "qwen2";
    v.bos = static_cast<int32_t>(n_regular);
    v.pad = v.bos;
    v.eos = static_cast<int32_t>(n_regular + 2);
    v.eot = v.eos;
    v.add_bos = false;
  }

  BpeBuilder bb(v, static_cast<size_t>(n_regular));
  std::vector<int> order;
  std::array<std::string, 256> chars = byte_chars(order);
  for (int b : order) bb.add_token(chars[static_cast<size_t>(b)]);
  const std::string space = chars[' '];
  const std::string newline = chars['\n'];
  bb.merge(space, space);
  bb.merge(newline, newline);
  for (char c = 'a'; c <= 'z'; ++c) bb.merge(space, std::string(1, c));
  for (char c = 'A'; c <= 'Z'; ++c) bb.merge(space, std::string(1, c));
  for (std::string_view w : kWords) {
    for (const std::string& start : {space, std::string(1, w[0])}) {
      std::string cur = start;
      for (size_t k = start == space ? 0 : 1; k < w.size(); ++k) {
        bb.merge(cur, std::string(1, w[k]));
        cur += w[k];
      }
    }
  }
  for (int len = 2; !bb.full(); ++len) {
    for (int64_t i = 0; i < pow26(len) && !bb.full(); ++i) {
      std::string s = letters(len, i);
      std::string head = s.substr(0, s.size() - 1);
      std::string tail = s.substr(s.size() - 1);
      bb.merge(head, tail);
      bb.merge(space + head, tail);
    }
  }
  for (const std::string& s : specials) {
    v.tokens.push_back(s);
    v.token_types.push_back(kTokenControl);
  }
  for (int64_t id = static_cast<int64_t>(v.tokens.size()); id < n_vocab; ++id) {
    v.tokens.push_back(fmt::format("[PAD{}]", id));
    v.token_types.push_back(kTokenUnused);
  }
  return v;
}

}  // namespace

Expected<SynthVocab> make_vocab(VocabFamily family, ChatStyle chat, int64_t n_vocab) {
  Expected<SynthVocab> v =
      family == VocabFamily::kSpm ? make_spm(n_vocab) : make_bpe(family, n_vocab);
  if (!v.ok()) return v;
  if (static_cast<int64_t>(v->tokens.size()) != n_vocab) {
    return Status::Errorf("could not generate {} distinct tokens (got {})", n_vocab,
                          v->tokens.size());
  }
  v->chat_template = chat_template(chat);
  return v;
}

void add_vocab_metadata(const SynthVocab& vocab, GgufWriter& w) {
  auto strings = [](const std::vector<std::string>& items) {
    std::vector<GgufValue> out;
    out.reserve(items.size());
    for (const std::string& s : items) out.push_back(GgufValue::of_string(s));
    return GgufValue::of_array(GgufType::kString, std::move(out));
  };
  w.set("tokenizer.ggml.model", GgufValue::of_string(vocab.model));
  if (!vocab.pre.empty()) w.set("tokenizer.ggml.pre", GgufValue::of_string(vocab.pre));
  w.set("tokenizer.ggml.tokens", strings(vocab.tokens));
  if (!vocab.scores.empty()) {
    std::vector<GgufValue> scores;
    scores.reserve(vocab.scores.size());
    for (float s : vocab.scores) scores.push_back(GgufValue::of_f32(s));
    w.set("tokenizer.ggml.scores", GgufValue::of_array(GgufType::kFloat32, std::move(scores)));
  }
  std::vector<GgufValue> types;
  types.reserve(vocab.token_types.size());
  for (int32_t t : vocab.token_types) types.push_back(GgufValue::of_i32(t));
  w.set("tokenizer.ggml.token_type", GgufValue::of_array(GgufType::kInt32, std::move(types)));
  if (!vocab.merges.empty()) w.set("tokenizer.ggml.merges", strings(vocab.merges));
  auto id = [&](const char* key, int32_t value) {
    if (value >= 0) w.set(key, GgufValue::of_u32(static_cast<uint32_t>(value)));
  };
  id("tokenizer.ggml.bos_token_id", vocab.bos);
  id("tokenizer.ggml.eos_token_id", vocab.eos);
  id("tokenizer.ggml.eot_token_id", vocab.eot);
  id("tokenizer.ggml.unknown_token_id", vocab.unk);
  id("tokenizer.ggml.padding_token_id", vocab.pad);
  w.set("tokenizer.ggml.add_bos_token", GgufValue::of_bool(vocab.add_bos));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::of_bool(false));
  if (!vocab.chat_template.empty()) {
    w.set("tokenizer.chat_template", GgufValue::of_string(vocab.chat_template));
  }
}

}  // namespace tenbin::synth
