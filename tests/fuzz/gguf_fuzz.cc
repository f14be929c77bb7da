// libFuzzer target for the GGUF reader: parses arbitrary bytes and reads back everything a
// successful parse exposes (metadata through every typed getter, each tensor's first and last
// byte), so sanitizers see any out-of-bounds pointer the parser hands out.
#include <cstddef>
#include <cstdint>

#include "model/gguf/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = tenbin::GgufFile::parse(data, size, "fuzz.gguf");
  volatile size_t sink = 0;
  if (!parsed.ok()) {
    sink = sink + parsed.status().message().size();
    return 0;
  }
  const tenbin::GgufFile& file = **parsed;
  sink = sink + file.architecture().size() + file.data_offset() + file.alignment();
  for (const std::string& key : file.metadata_order()) {
    const tenbin::GgufValue* value = file.find(key);
    sink = sink + value->items.size() + value->str.size();
    sink = sink + file.get_int(key).value_or(0) +
           static_cast<size_t>(file.get_float(key).value_or(0) != 0);
    sink = sink + file.get_bool(key).value_or(false) + file.get_string(key).value_or("").size();
    if (auto strings = file.get_string_array(key)) sink = sink + strings->size();
    if (auto floats = file.get_float_array(key)) sink = sink + floats->size();
    if (auto ints = file.get_int_array(key)) sink = sink + ints->size();
  }
  for (const tenbin::GgufTensor& tensor : file.tensors()) {
    sink = sink + tensor.data[0] + tensor.data[tensor.n_bytes - 1];
    sink = sink + static_cast<size_t>(tensor.rows() + tensor.cols());
    if (file.tensor(tensor.name) != &tensor) __builtin_trap();
  }
  return 0;
}
