// A ModelSpec read from a GGUF file's metadata and tensor table: the exact stored bytes of
// every tensor (so memory figures for the file as it is are exact) and the hyper-parameters
// (`<arch>.block_count`, `.embedding_length`, ...). Works for any architecture whose keys
// follow the GGUF naming convention; encoders are recognised by `<arch>.attention.causal`.
#pragma once

#include <string>

#include "planner/model_spec.h"
#include "util/status.h"

namespace tenbin {
class GgufFile;
}

namespace tenbin::planner {

Expected<ModelSpec> model_spec_from_gguf(const GgufFile& file);
Expected<ModelSpec> model_spec_from_gguf_path(const std::string& path);

}  // namespace tenbin::planner
