#!/usr/bin/env python3
"""Runs every compile command of a CMake build with -fsyntax-only, the CUDA code paths on, and the
libtorch + CUDA headers unpacked under PREFIX searched first. Stops at the first error (printed with
its file and line) and exits 1; exits 0 when every translation unit compiles.

usage: syntax_check.py COMPILE_COMMANDS.json PREFIX JOBS
"""
import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def syntax_only(entry, prefix):
    args = shlex.split(entry["command"])
    out = [args[0], "-fsyntax-only", "-DR1_WITH_CUDA=1",
           "-isystem", f"{prefix}/usr/include/torch/csrc/api/include", "-isystem", f"{prefix}/usr/include"]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-include"):  # outputs, dependency files, the precompiled header
            skip = True
            continue
        if a in ("-c", "-MD", "-Winvalid-pch") or a == entry["file"]:
            continue
        out.append(a)
    return out + [entry["file"]]


def main():
    commands, prefix, jobs = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
    units = [e for e in commands if not e["file"].endswith("cmake_pch.hxx.cxx")]
    failed = []

    def check(entry):
        if failed:
            return
        r = subprocess.run(syntax_only(entry, prefix), cwd=entry["directory"], capture_output=True, text=True)
        if r.returncode != 0 and not failed:
            failed.append(entry["file"])
            sys.stderr.write(f"check_cuda_build: {entry['file']} does not compile with R1_WITH_CUDA=1:\n{r.stderr}")
        else:
            print(f"ok {entry['file']}", flush=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(check, units))
    if failed:
        sys.exit(1)
    print(f"check_cuda_build: {len(units)} translation units compile with the CUDA code paths on")


if __name__ == "__main__":
    main()
