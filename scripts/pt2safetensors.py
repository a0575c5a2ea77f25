#!/usr/bin/env python3
"""Convert a hyper-connection nanoGPT checkpoint (ckpt.pt) to .safetensors.

Usage:
    python3 scripts/pt2safetensors.py ckpt.pt out.safetensors [--unsafe-unpickle]

The checkpoint is first loaded with torch.load(weights_only=True).  Old torch
releases (1.x) refuse plain Python floats in that mode; for a checkpoint you
trust, pass --unsafe-unpickle to load it with full unpickling.

The checkpoint is the dict written by the reference training script: the
state dict lives under 'model' and the constructor arguments under
'model_args'.  Every state-dict key is written, including names that alias the
same storage (tied embeddings, branches reachable through two module paths,
a shared stream-expansion module).  Each tensor is stored as its own
contiguous little-endian float32 copy.  Config values from model_args are
written to the safetensors '__metadata__' map as strings.

The writer below implements the safetensors layout directly (the Python
package is not required):
    u64 little-endian header length N | N bytes of JSON header | tensor bytes
with the header padded with spaces so the data section starts on an 8-byte
boundary and data_offsets relative to the start of the data section.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import struct
import sys
import tempfile

COMPILE_PREFIX = "_orig_mod."

# model_args entries copied into the safetensors metadata (always as strings)
METADATA_KEYS = (
    "hyper_conn_type",
    "hyper_conn_n",
    "n_head",
    "n_layer",
    "n_embd",
    "vocab_size",
    "block_size",
    "bias",
)
OPTIONAL_METADATA_KEYS = ("expand_lss_init",)


def _meta_str(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def metadata_from_model_args(model_args: dict) -> dict:
    """Build the string->string metadata map from a checkpoint's model_args."""
    missing = [k for k in METADATA_KEYS if k not in model_args]
    if missing:
        raise ValueError(f"model_args lacks required entries: {', '.join(missing)}")
    meta = {k: _meta_str(model_args[k]) for k in METADATA_KEYS}
    for k in OPTIONAL_METADATA_KEYS:
        if model_args.get(k) is not None:
            meta[k] = _meta_str(model_args[k])
    return meta


def _tensor_to_f32_bytes(tensor):
    import torch

    t = tensor.detach().to(device="cpu", dtype=torch.float32).contiguous().clone()
    arr = t.numpy().astype("<f4", copy=False)
    return list(t.shape), arr.tobytes(order="C")


def write_safetensors(path: str, state_dict: dict, metadata: dict | None = None) -> None:
    """Write every entry of state_dict as an F32 tensor to `path`.

    Keys are written in sorted order so the output is byte-for-byte
    reproducible.  The file is first written under a temporary name in the
    destination directory and then renamed into place.
    """
    header: dict = {}
    chunks = []
    offset = 0
    for name in sorted(state_dict):
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"unusable tensor name: {name!r}")
        shape, raw = _tensor_to_f32_bytes(state_dict[name])
        header[name] = {
            "dtype": "F32",
            "shape": shape,
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError(f"metadata must map str to str, got {k!r}: {v!r}")
        header["__metadata__"] = dict(sorted(metadata.items()))

    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    pad = (-len(header_bytes)) % 8
    header_bytes += b" " * pad

    out_dir = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".pt2st-", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(header_bytes)))
            f.write(header_bytes)
            for raw in chunks:
                f.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str, unsafe_unpickle: bool = False):
    import torch

    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = not unsafe_unpickle
    try:
        return torch.load(path, **kwargs)
    except Exception as e:  # noqa: BLE001 - surface a readable message
        hint = ""
        if kwargs.get("weights_only"):
            hint = (
                "\n(loaded with weights_only=True; torch < 2 cannot read plain floats "
                "that way, and nanoGPT checkpoints contain some. If you trust this "
                "file, retry with --unsafe-unpickle)"
            )
        raise SystemExit(f"error: could not load {path}: {e}{hint}") from e


def strip_compile_prefix(state_dict: dict) -> dict:
    out = {}
    for k, v in state_dict.items():
        name = k[len(COMPILE_PREFIX):] if k.startswith(COMPILE_PREFIX) else k
        if name in out:
            raise SystemExit(f"error: key {name!r} appears both with and without the {COMPILE_PREFIX!r} prefix")
        out[name] = v
    return out


def convert(ckpt_path: str, out_path: str, unsafe_unpickle: bool = False) -> dict:
    ckpt = load_checkpoint(ckpt_path, unsafe_unpickle)
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        keys = sorted(ckpt.keys()) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise SystemExit(
            f"error: {ckpt_path} has no 'model' entry (found: {keys}); "
            "expected a checkpoint dict saved by the reference train.py"
        )
    if "model_args" not in ckpt or not isinstance(ckpt["model_args"], dict):
        raise SystemExit(f"error: {ckpt_path} has no 'model_args' dict; cannot record the model config")
    state_dict = strip_compile_prefix(ckpt["model"])
    try:
        metadata = metadata_from_model_args(ckpt["model_args"])
    except ValueError as e:
        raise SystemExit(f"error: {ckpt_path}: {e}") from e
    write_safetensors(out_path, state_dict, metadata)
    return {"tensors": len(state_dict), "metadata": metadata}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Convert a reference HC nanoGPT ckpt.pt to .safetensors (F32, all keys).")
    p.add_argument("ckpt", help="input checkpoint (ckpt.pt)")
    p.add_argument("out", help="output .safetensors path")
    p.add_argument(
        "--unsafe-unpickle",
        action="store_true",
        help="load with weights_only=False (runs arbitrary pickle code; only for trusted files)",
    )
    args = p.parse_args(argv)
    info = convert(args.ckpt, args.out, args.unsafe_unpickle)
    meta = ", ".join(f"{k}={v}" for k, v in info["metadata"].items())
    print(f"wrote {args.out}: {info['tensors']} tensors; {meta}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
