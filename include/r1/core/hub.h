// Models named by Hugging Face hub ids ("Qwen/Qwen2.5-1.5B"), found in the local Hugging Face cache
// (nothing is downloaded).
#pragma once

#include <filesystem>
#include <string>

namespace r1 {

// Whether `value` reads as a hub id: ORG/NAME, one slash, neither part empty or a dot path.
bool looks_like_hub_id(const std::string& value);

// The directory `value` names: itself when it exists; else, for a hub id, its snapshot in the local
// cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub): models--ORG--NAME, its
// refs/<revision> file giving the snapshot's commit (a 40-hex revision is the commit itself).
// InputError naming the caches searched and the download command when the model is in none;
// `value` unchanged when it is neither an existing path nor a hub id (the caller reports it).
std::string resolve_model_dir(const std::string& value, const std::string& revision = "main");

}  // namespace r1
