// Precompiled header of the libraries that use libtorch (model and everything above it).
#pragma once

#include <torch/torch.h>

#include "r1/pch_light.h"
