// Compiles the libtorch precompiled header once; the libtorch libraries and the tests reuse it.
