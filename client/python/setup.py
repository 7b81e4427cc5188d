"""Builds the offload package with offload_pb2 generated from
../../proto/offload.proto (protoc, from Debian's protobuf-compiler) into
the package, so an installed copy needs no source tree:

    pip install --no-build-isolation client/python    # offline: Debian's setuptools
"""

import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "proto")


class BuildWithProto(build_py):
    def run(self):
        super().run()
        out = os.path.join(self.build_lib, "offload")
        os.makedirs(out, exist_ok=True)
        subprocess.check_call(["protoc", "--proto_path=" + PROTO, "--python_out=" + out,
                               os.path.join(PROTO, "offload.proto")])


setup(cmdclass={"build_py": BuildWithProto})
