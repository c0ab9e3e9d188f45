// Compiles the light precompiled header once; the libraries that need no libtorch reuse it.
