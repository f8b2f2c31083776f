#!/usr/bin/env python3
"""Regenerate pulumi.fds.bin, the FileDescriptorSet the provider's build script compiles.

The Pulumi protocol's .proto files ship with no registry, but the `pulumi` wheel on PyPI carries their
compiled descriptors. We load those from the pinned wheel (the same release as the CLI in tools/go.mod)
and serialise them, with the well-known types they import, into one FileDescriptorSet.

Usage: python3 regenerate.py   (creates a throwaway venv; needs only PyPI)
"""
import os
import subprocess
import sys
import tempfile

PULUMI_VERSION = "3.184.0"
ROOTS = ["provider", "engine", "plugin", "errors"]
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pulumi.fds.bin")


def build(out_path):
    from google.protobuf import descriptor_pb2
    import importlib

    seen, ordered = set(), []

    def visit(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            visit(dep)
        ordered.append(fd)

    for root in ROOTS:
        visit(importlib.import_module(f"pulumi.runtime.proto.{root}_pb2").DESCRIPTOR)
    fds = descriptor_pb2.FileDescriptorSet()
    for fd in ordered:
        proto = fds.file.add()
        fd.CopyToProto(proto)
    with open(out_path, "wb") as f:
        f.write(fds.SerializeToString(deterministic=True))
    print(f"wrote {out_path}: {', '.join(fd.name for fd in ordered)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inside-venv":
        build(sys.argv[2])
        sys.exit(0)
    with tempfile.TemporaryDirectory() as venv:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        py = os.path.join(venv, "bin", "python")
        subprocess.run([py, "-m", "pip", "install", "-q", f"pulumi=={PULUMI_VERSION}"], check=True)
        subprocess.run([py, __file__, "--inside-venv", OUT], check=True)
