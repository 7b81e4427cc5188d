"""Finds offload_pb2, the protobuf module generated from proto/offload.proto:
beside this package once installed, else in the source tree's build/python
(make generates it), else where OFFLOAD_PB2_DIR says."""

import importlib
import os
import sys


def _load():
    try:
        return importlib.import_module(".offload_pb2", __package__)
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("OFFLOAD_PB2_DIR", ""),
                  os.path.join(here, "..", "..", "..", "build", "python")]
    for d in candidates:
        if d and os.path.exists(os.path.join(d, "offload_pb2.py")):
            sys.path.insert(0, os.path.abspath(d))
            try:
                return importlib.import_module("offload_pb2")
            finally:
                sys.path.pop(0)
    raise ImportError("offload: offload_pb2 not found: run 'make' (it generates "
                      "build/python/offload_pb2.py from proto/offload.proto), or set "
                      "OFFLOAD_PB2_DIR")


pb = _load()
