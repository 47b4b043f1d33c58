"""Minimal reader for CTranslate2 model.bin (binary format v6, see ctranslate2/specs/model_spec.py::_serialize)."""
import struct

import numpy as np

_DT = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


def read_ct2(path):
    with open(path, "rb") as f:
        buf = f.read()
    off = 0

    def u(fmt):
        nonlocal off
        v = struct.unpack_from("<" + fmt, buf, off)
        off += struct.calcsize("<" + fmt)
        return v[0]

    def s():
        nonlocal off
        n = u("H")
        v = buf[off:off + n - 1].decode()
        off += n
        return v

    version = u("I")
    assert version >= 5, version
    spec = s()
    revision = u("I")
    nvars = u("I")
    variables = {}
    for _ in range(nvars):
        name = s()
        rank = u("B")
        dims = [u("I") for _ in range(rank)]
        dt = u("B")
        nbytes = u("I")
        raw = buf[off:off + nbytes]
        off += nbytes
        if _DT[dt] == "bfloat16":
            a = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, _DT[dt])
        variables[name] = a.reshape(dims) if dims else a
    aliases = {}
    if off < len(buf):
        for _ in range(u("I")):
            a = s()
            aliases[a] = s()
    return {"version": version, "spec": spec, "revision": revision, "variables": variables, "aliases": aliases}


if __name__ == "__main__":
    import sys
    m = read_ct2(sys.argv[1])
    print(m["version"], m["spec"], m["revision"], len(m["variables"]), "aliases:", m["aliases"])
    for k, v in m["variables"].items():
        if "layer_1" in k or "layer_2" in k or "layer_3" in k or "layer_4" in k or "layer_5" in k:
            continue
        print(f"{k:60s} {str(v.dtype):8s} {v.shape}")
