"""A fake Hugging Face Hub for tests: an HTTP server on 127.0.0.1 answering what ``huggingface_hub`` 2.4 requests,
driven by the real client (standard library only).

    with FakeHub(token="secret") as hub:
        use_fake_hub(monkeypatch, hub, tmp_path)     # HF_ENDPOINT, the viewer URL, offline mode off
        HfApi(endpoint=hub.base_url).list_models(search="chat")

Endpoints (as read from huggingface_hub's code: hf_api.py, file_download.py, utils/_pagination.py):

- ``GET /api/models|datasets|spaces`` with ``search``, ``author``, ``filter`` (tags, repeated), ``pipeline_tag``,
  ``gated``, ``num_parameters`` ("min:1B,max:8B"), ``sort`` (downloads, likes, trendingScore, createdAt,
  lastModified; most first), ``limit``, ``expand`` (repeated: only those properties come back);
- ``GET /api/{models|datasets|spaces}/{id}`` and ``.../revision/{rev}`` (``blobs=true`` adds file sizes);
- ``HEAD|GET /{id}/resolve/{rev}/{file}`` (``/datasets/{id}/resolve/...`` for datasets): README.md, config files,
  ``model.safetensors`` (a real safetensors header, served with ``Range``: 206 + Content-Range; the weights
  themselves are never served), sharded ``model.safetensors.index.json`` + shards; ETag and X-Repo-Commit headers;
- the dataset viewer under ``/datasets-server``: ``/splits``, ``/size``, ``/first-rows``, ``/rows``.

Errors, as the real Hub sends them (status + ``X-Error-Code`` / ``X-Error-Message``): an unknown repository → 404
RepoNotFound, or 401 RepoNotFound without a valid token (how the Hub hides private repositories); a gated model's
files without the token → 401 GatedRepo; a wrong token → 401 "Invalid credentials in Authorization header" on any
request; ``acme/rate-limited`` or a search containing "ratelimit" → 429 with Retry-After; ``acme/slow`` or a search
containing "slow" → answers after ``slow_s`` seconds (a timeout for a client waiting less); a search containing
"boom" → 500; the dataset ``acme/no-viewer`` → 501 from the viewer. ``requests`` records every request (method,
path, query, whether it was authenticated); the token itself is never recorded or echoed.

``hub_demo`` builds a Blocks with the Hub tab and small stand-ins for the tabs it sends to (their targets
registered in ``Links``), and ``served_hub`` serves it in-process against a FakeHub (tab and browser tests).

Offline mode: the suite sets ``HF_HUB_OFFLINE=1`` before huggingface_hub is imported, and the library keeps that in
``huggingface_hub.constants.HF_HUB_OFFLINE`` (its HTTP session then refuses every request). ``use_fake_hub`` turns
it off for one test (environment and constant, restored by monkeypatch), points ``HF_ENDPOINT`` and
``WORKBENCH_DATASETS_SERVER_URL`` at the fake, and moves the huggingface_hub cache to a temporary folder (a sharded
model's index is downloaded there). The engine itself never overrides offline mode.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
VIEWER_PREFIX = "/datasets-server"
DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "I64": 8, "U8": 1}
INVALID_TOKEN = "Invalid credentials in Authorization header"


# ------------------------------------------------------------------------------------------------ fixtures data


def safetensors_header(tensors: list[tuple[str, str, list[int]]]) -> tuple[bytes, int]:
    """The first bytes of a safetensors file (8-byte length + JSON header) and the whole file's size."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, shape in tensors:
        size = math.prod(shape) * DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw, 8 + len(raw) + offset


def _params(tensors: list[tuple[str, str, list[int]]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, dtype, shape in tensors:
        out[dtype] = out.get(dtype, 0) + math.prod(shape)
    return out


def _llama(layers: int, hidden: int, inter: int, vocab: int, kv: int, dtype: str = "BF16") -> list:
    tensors = [("model.embed_tokens.weight", dtype, [vocab, hidden])]
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors += [(p + "self_attn.q_proj.weight", dtype, [hidden, hidden]),
                    (p + "self_attn.k_proj.weight", dtype, [kv, hidden]),
                    (p + "self_attn.v_proj.weight", dtype, [kv, hidden]),
                    (p + "self_attn.o_proj.weight", dtype, [hidden, hidden]),
                    (p + "mlp.gate_proj.weight", dtype, [inter, hidden]),
                    (p + "mlp.up_proj.weight", dtype, [inter, hidden]),
                    (p + "mlp.down_proj.weight", dtype, [hidden, inter]),
                    (p + "input_layernorm.weight", "F32", [hidden])]
    return [*tensors, ("model.norm.weight", "F32", [hidden]), ("lm_head.weight", dtype, [vocab, hidden])]


CHAT_README = """---
license: apache-2.0
language: [en]
library_name: transformers
pipeline_tag: text-generation
tags: [chat, small]
base_model: acme/chat-1b-base
---
<p align="center"><img src="https://example.invalid/logo.png" width="200"/></p>

# Acme Chat 1B

A small **chat model** for everyday tasks, trained on 2T tokens. See [the paper](https://example.invalid/paper).

```python
# Quick start
from transformers import pipeline
```

## Training details

Not part of the first section.
"""

GATED_README = "---\nlicense: llama3.1\nextra_gated_prompt: accept the terms\n---\n# Acme Gated 8B\n\nGated.\n"
REVIEWS_README = ("---\nlicense: mit\ntask_categories: [text-classification]\nsize_categories: [n<1K]\n---\n"
                  "# Acme reviews\n\nShort product reviews labelled positive or negative.\n\n## Fields\nmore\n")


def _files(names: dict[str, int]) -> list[dict]:
    out = []
    for name, size in names.items():
        entry: dict[str, Any] = {"rfilename": name, "size": size, "blobId": hashlib.sha1(name.encode()).hexdigest()}
        if size > 10_000_000:
            entry["lfs"] = {"size": size, "sha256": hashlib.sha256(name.encode()).hexdigest(), "pointerSize": 134}
        out.append(entry)
    return out


def _model(repo_id: str, task: str | None, library: str | None, *, downloads: int, likes: int, tags: list[str],
           created: str, modified: str, trending: int, gated: Any = False, private: bool = False,
           tensors: list | None = None, shards: int = 0, readme: str | None = None,
           extra_files: dict[str, int] | None = None) -> dict:
    files: dict[str, bytes] = {}
    sizes = {"config.json": 700, **(extra_files or {})}
    model: dict[str, Any] = {
        "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24], "id": repo_id, "author": repo_id.split("/")[0],
        "sha": COMMIT, "lastModified": modified, "createdAt": created, "private": private, "gated": gated,
        "disabled": False, "downloads": downloads, "likes": likes, "library_name": library, "tags": tags,
        "pipeline_tag": task, "trendingScore": trending, "spaces": [], "usedStorage": 0}
    files["config.json"] = json.dumps({"model_type": "llama"}).encode()
    if tensors:
        params = _params(tensors)
        model["safetensors"] = {"parameters": params, "total": sum(params.values())}
        if shards:
            per = math.ceil(len(tensors) / shards)
            weight_map, total = {}, 0
            for n in range(shards):
                part = tensors[n * per:(n + 1) * per]
                name = f"model-{n + 1:05d}-of-{shards:05d}.safetensors"
                files[name], sizes[name] = safetensors_header(part)
                total += sizes[name]
                weight_map.update({t[0]: name for t in part})
            index = {"metadata": {"total_size": total}, "weight_map": weight_map}
            files["model.safetensors.index.json"] = json.dumps(index).encode()
        else:
            files["model.safetensors"], sizes["model.safetensors"] = safetensors_header(tensors)
    if readme is not None:
        files["README.md"] = readme.encode()
        model["cardData"] = _front_matter(readme)
    for name, content in files.items():
        sizes.setdefault(name, len(content))
    model["_files"], model["_sizes"] = files, sizes
    return model


def _front_matter(readme: str) -> dict:
    match = re.match(r"\A---\n(.*?)\n---\n", readme, re.S)
    out: dict[str, Any] = {}
    for line in (match.group(1).splitlines() if match else []):
        key, _, value = line.partition(":")
        value = value.strip()
        out[key.strip()] = [v.strip() for v in value[1:-1].split(",")] if value.startswith("[") else value
    return out


def default_models() -> dict[str, dict]:
    """The fake Hub's models (ids under acme/)."""
    common = {"created": "2025-01-10T08:00:00.000Z", "modified": "2025-06-01T08:00:00.000Z"}
    models = [
        _model("acme/chat-1b", "text-generation", "transformers", downloads=120_000, likes=420, trending=50,
               tags=["transformers", "safetensors", "llama", "text-generation", "conversational",
                     "license:apache-2.0"],
               tensors=_llama(16, 2048, 8192, 32000, 512), readme=CHAT_README,
               extra_files={"tokenizer.json": 2_100_000, "tokenizer_config.json": 1_200,
                            "generation_config.json": 120}, **common),
        _model("acme/gated-8b", "text-generation", "transformers", downloads=90_000, likes=900, trending=80,
               gated="manual", tags=["transformers", "safetensors", "text-generation", "license:llama3.1"],
               tensors=_llama(32, 4096, 14336, 128256, 1024), readme=GATED_README,
               extra_files={"tokenizer.json": 9_000_000}, created="2024-07-23T08:00:00.000Z",
               modified="2024-09-01T08:00:00.000Z"),
        _model("acme/big-70b", "text-generation", "transformers", downloads=40_000, likes=300, trending=20,
               tags=["transformers", "safetensors", "text-generation", "license:other"],
               tensors=_llama(80, 8192, 28672, 128256, 1024), shards=2, **common),
        _model("acme/whisper-small", "automatic-speech-recognition", "transformers", downloads=60_000, likes=150,
               trending=10, tags=["transformers", "whisper", "automatic-speech-recognition", "license:mit"],
               tensors=[("model.encoder.weight", "F32", [768, 160_000]), ("model.decoder.weight", "F32",
                                                                         [768, 155_000])],
               extra_files={"tokenizer.json": 2_400_000, "preprocessor_config.json": 340}, **common),
        _model("acme/tiny-diffusion", "text-to-image", "diffusers", downloads=8_000, likes=75, trending=5,
               tags=["diffusers", "text-to-image", "license:openrail"],
               extra_files={"unet/diffusion_pytorch_model.safetensors": 3_400_000_000,
                            "model_index.json": 600}, **common),
        _model("acme/sentiment-bert", "text-classification", "transformers", downloads=300_000, likes=60,
               trending=3, tags=["transformers", "bert", "text-classification", "license:apache-2.0"],
               tensors=[("bert.embeddings.weight", "F32", [30522, 768]), ("bert.encoder.weight", "F32",
                                                                          [768, 112_000])],
               extra_files={"vocab.txt": 231_000, "tokenizer_config.json": 300}, **common),
        _model("acme/private-model", "text-generation", "transformers", downloads=0, likes=0, trending=0,
               private=True, tags=["transformers"], tensors=_llama(2, 256, 512, 1000, 64), **common),
        _model("acme/rate-limited", None, None, downloads=0, likes=0, trending=0, tags=[], **common),
        _model("acme/slow", None, None, downloads=0, likes=0, trending=0, tags=[], **common),
    ]
    return {m["id"]: m for m in models}


def _dataset(repo_id: str, *, downloads: int, likes: int, tags: list[str], readme: str | None = None,
             splits: dict[str, dict[str, int]] | None = None) -> dict:
    files = {"README.md": readme.encode()} if readme else {}
    return {"_id": hashlib.md5(repo_id.encode()).hexdigest()[:24], "id": repo_id, "author": repo_id.split("/")[0],
            "sha": COMMIT, "lastModified": "2025-03-01T08:00:00.000Z", "createdAt": "2024-11-01T08:00:00.000Z",
            "private": False, "gated": False, "disabled": False, "downloads": downloads, "likes": likes,
            "tags": tags, "cardData": _front_matter(readme) if readme else None, "trendingScore": 1,
            "_files": files, "_sizes": {k: len(v) for k, v in files.items()}, "_splits": splits or {}}


def default_datasets() -> dict[str, dict]:
    """The fake Hub's datasets."""
    sets = [
        _dataset("acme/reviews", downloads=5_000, likes=40, readme=REVIEWS_README,
                 tags=["task_categories:text-classification", "size_categories:n<1K", "license:mit"],
                 splits={"default": {"train": 25, "test": 12}}),
        _dataset("acme/qa-pairs", downloads=900, likes=12,
                 tags=["task_categories:question-answering", "size_categories:1K<n<10K", "license:cc-by-4.0"],
                 splits={"en": {"validation": 30}, "fr": {"validation": 20}}),
        _dataset("acme/no-viewer", downloads=10, likes=1, tags=["size_categories:n<1K"]),
    ]
    return {d["id"]: d for d in sets}


def default_spaces() -> dict[str, dict]:
    """The fake Hub's Spaces."""
    def space(repo_id, sdk, likes, stage, current, requested, card):
        sub = repo_id.replace("/", "-")
        return {"_id": hashlib.md5(repo_id.encode()).hexdigest()[:24], "id": repo_id, "author": "acme",
                "sha": COMMIT, "lastModified": "2025-05-01T08:00:00.000Z", "createdAt": "2024-05-01T08:00:00.000Z",
                "private": False, "likes": likes, "sdk": sdk, "tags": [sdk, "region:us"], "cardData": card,
                "subdomain": sub, "host": f"https://{sub}.hf.space", "trendingScore": likes // 10,
                "runtime": {"stage": stage, "hardware": {"current": current, "requested": requested},
                            "storage": None, "gcTimeout": 172800},
                "models": ["acme/chat-1b"], "datasets": [], "_files": {}, "_sizes": {}}

    return {s["id"]: s for s in (
        space("acme/chat-demo", "gradio", 30, "RUNNING", "cpu-basic", "cpu-basic",
              {"title": "Chat demo", "emoji": "💬", "sdk": "gradio", "sdk_version": "5.9.1", "license": "mit",
               "short_description": "Talk to acme/chat-1b"}),
        space("acme/docker-api", "docker", 12, "SLEEPING", None, "t4-small",
              {"title": "Docker API", "emoji": "🐳", "sdk": "docker", "license": "apache-2.0"}),
    )}


def dataset_row(dataset_id: str, config: str, split: str, index: int) -> dict:
    """Row ``index`` of a fake split (deterministic)."""
    if dataset_id == "acme/qa-pairs":
        return {"question": f"[{config}] Question {index}?", "answer": f"Answer {index}",
                "context": {"title": f"Doc {index}", "lines": [f"line {index}"]}}
    word = "great" if index % 2 else "awful"
    return {"text": f"{split} review {index}: it was {word}.", "label": index % 2}


def dataset_features(dataset_id: str) -> list[dict]:
    """The viewer's ``features`` of a fake dataset."""
    if dataset_id == "acme/qa-pairs":
        string = {"dtype": "string", "_type": "Value"}
        types = [("question", string), ("answer", string),
                 ("context", {"title": {"dtype": "string", "_type": "Value"},
                              "lines": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"}})]
    else:
        types = [("text", {"dtype": "string", "_type": "Value"}),
                 ("label", {"names": ["negative", "positive"], "_type": "ClassLabel"})]
    return [{"feature_idx": i, "name": n, "type": t} for i, (n, t) in enumerate(types)]


# ------------------------------------------------------------------------------------------------ the server


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, message: str, code: str | None = None) -> _Reply:
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return _Reply(status, {"error": message}, headers)


_SORT_KEYS = {"downloads": "downloads", "likes": "likes", "trendingScore": "trendingScore",
              "createdAt": "createdAt", "lastModified": "lastModified"}
_LIST_DEFAULT = ("id", "likes", "downloads", "pipeline_tag", "library_name", "tags", "createdAt", "private", "sdk")


def _parse_count(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)\s*([KMBT]?)", text.strip(), re.I)
    if not match:
        raise _error(400, f"invalid num_parameters value {text!r}")
    scale = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[match.group(2).upper()]
    return float(match.group(1)) * scale


class FakeHub:
    """The fake Hub, served from a daemon thread on a random port (see the module docstring)."""

    def __init__(self, token: str | None = None, *, slow_s: float = 3.0):
        self.token = token
        self.slow_s = slow_s
        self.models = default_models()
        self.datasets = default_datasets()
        self.spaces = default_spaces()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is None:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            server.daemon_threads = True
            server.fake = self  # type: ignore[attr-defined]
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True, name="FakeHub")
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeHub is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def viewer_url(self) -> str:
        return self.base_url + VIEWER_PREFIX

    def paths(self, method: str | None = None) -> list[str]:
        """Paths requested so far (optionally of one method)."""
        with self._lock:
            return [r["path"] for r in self.requests if method is None or r["method"] == method]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- routing -------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], auth: str | None, rng: str | None):
        """(status, body, headers) for one request; raises _Reply for errors."""
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": query, "authenticated": bool(auth),
                                  "range": rng})
        if auth is not None and (self.token is None or auth != f"Bearer {self.token}"):
            raise _error(401, INVALID_TOKEN)
        authorized = auth is not None
        if path.startswith(VIEWER_PREFIX + "/"):
            return self._viewer(path[len(VIEWER_PREFIX):], query)
        match = re.fullmatch(r"/api/(models|datasets|spaces)", path)
        if match:
            return 200, self._list(match.group(1), query), {}
        match = re.fullmatch(r"/api/(models|datasets|spaces)/(.+?)(?:/revision/([^/]+))?", path)
        if match:
            repo = self._repo(match.group(1), match.group(2), authorized)
            return 200, self._info(repo, query, match.group(1)), {}
        match = re.fullmatch(r"/(?:(datasets|spaces)/)?(.+?)/resolve/([^/]+)/(.+)", path)
        if match:
            return self._resolve(match.group(1) or "models", match.group(2), match.group(4), authorized, rng,
                                 method)
        raise _error(404, f"no route for {path}")

    def _table(self, kind: str) -> dict[str, dict]:
        return {"models": self.models, "datasets": self.datasets, "spaces": self.spaces}[kind]

    def _repo(self, kind: str, repo_id: str, authorized: bool) -> dict:
        if repo_id.endswith("rate-limited"):
            raise _Reply(429, {"error": "Too many requests"}, {"Retry-After": "30"})
        if repo_id.endswith("/slow"):
            time.sleep(self.slow_s)
        repo = self._table(kind).get(repo_id)
        if repo is None or (repo.get("private") and not authorized):
            raise _error(401 if not authorized else 404, "Repository not found", "RepoNotFound")
        return repo

    def _list(self, kind: str, q: dict[str, list[str]]) -> list[dict]:
        search = " ".join(q.get("search", [])).lower()
        if "ratelimit" in search:
            raise _Reply(429, {"error": "Too many requests"}, {"Retry-After": "30"})
        if "boom" in search:
            raise _Reply(500, {"error": "Internal Error - We're working hard to fix this as soon as possible!"})
        if "slow" in search:
            time.sleep(self.slow_s)
        rows = [r for r in self._table(kind).values() if not r.get("private") and self._matches(r, q, search)]
        sort = _SORT_KEYS.get((q.get("sort") or ["downloads"])[0], "downloads")
        rows.sort(key=lambda r: r.get(sort) or 0, reverse=True)
        rows = rows[: int((q.get("limit") or ["1000"])[0])]
        expand = q.get("expand") or q.get("expand[]")
        keep = set(expand) | {"id", "_id"} if expand else set(_LIST_DEFAULT) | {"_id"}
        return [{k: v for k, v in r.items() if k in keep} for r in rows]

    def _matches(self, r: dict, q: dict[str, list[str]], search: str) -> bool:
        tags = set(r.get("tags") or ()) | {r.get("library_name")}
        checks = [
            not search or search in r["id"].lower(),
            all(f in tags for f in q.get("filter", [])),
            not q.get("author") or r["id"].split("/")[0] == q["author"][0],
            not q.get("pipeline_tag") or r.get("pipeline_tag") == q["pipeline_tag"][0],
            not q.get("gated") or (q["gated"][0] == "true") == bool(r.get("gated")),
        ]
        if q.get("num_parameters"):
            total = (r.get("safetensors") or {}).get("total")
            for part in q["num_parameters"][0].split(","):
                bound, _, value = part.partition(":")
                limit = _parse_count(value)
                checks.append(total is not None and (total >= limit if bound == "min" else total <= limit))
        return all(checks)

    def _info(self, repo: dict, q: dict[str, list[str]], kind: str) -> dict:
        out = {k: v for k, v in repo.items() if not k.startswith("_") or k == "_id"}
        blobs = (q.get("blobs") or ["false"])[0].lower() == "true"
        files = _files(repo["_sizes"])
        out["siblings"] = files if blobs else [{"rfilename": f["rfilename"]} for f in files]
        if kind == "models" and repo.get("gated"):
            out["gated"] = repo["gated"]
        return out

    def _resolve(self, kind: str, repo_id: str, filename: str, authorized: bool, rng: str | None, method: str):
        repo = self._repo(kind, repo_id, authorized)
        if repo.get("gated") and not authorized:
            raise _error(401, f"Access to model {repo_id} is restricted. You must have access to it and be "
                              "authenticated to access it. Please log in.", "GatedRepo")
        name = unquote(filename)
        content = repo["_files"].get(name)
        if content is None:
            raise _error(404, "Entry not found", "EntryNotFound")
        size = repo["_sizes"].get(name, len(content))
        headers = {"ETag": f'"{hashlib.sha1(content).hexdigest()}"', "X-Repo-Commit": COMMIT,
                   "Accept-Ranges": "bytes"}
        if method == "HEAD":
            return 200, b"", {**headers, "Content-Length": str(size)}
        if rng:
            start, _, end = rng.removeprefix("bytes=").partition("-")
            chunk = content[int(start): int(end) + 1 if end else None]
            return 206, chunk, {**headers, "Content-Range": f"bytes {start}-{int(start) + len(chunk) - 1}/{size}"}
        return 200, content, headers

    # -- dataset viewer --------------------------------------------------------------------------------------

    def _viewer(self, path: str, q: dict[str, list[str]]):
        dataset_id = (q.get("dataset") or [""])[0]
        data = self.datasets.get(dataset_id)
        if data is None:
            raise _Reply(404, {"error": "The dataset does not exist, or is not accessible without authentication "
                                        "(private or gated). Please check the spelling of the dataset name or retry "
                                        "with authentication."}, {"X-Error-Code": "ResponseNotFound"})
        if not data["_splits"]:
            raise _Reply(501, {"error": "The dataset viewer is not available for this dataset."},
                         {"X-Error-Code": "DatasetViewerDisabledError"})
        splits = [(c, s, n) for c, per in data["_splits"].items() for s, n in per.items()]
        if path == "/splits":
            return 200, {"splits": [{"dataset": dataset_id, "config": c, "split": s} for c, s, _ in splits],
                         "pending": [], "failed": []}, {}
        if path == "/size":
            return 200, {"size": {"dataset": {"dataset": dataset_id, "num_rows": sum(n for *_, n in splits)},
                                  "splits": [{"dataset": dataset_id, "config": c, "split": s, "num_rows": n,
                                              "num_columns": 2} for c, s, n in splits]},
                         "pending": [], "failed": [], "partial": False}, {}
        config, split = (q.get("config") or [""])[0], (q.get("split") or [""])[0]
        total = next((n for c, s, n in splits if c == config and s == split), None)
        if total is None:
            raise _Reply(404, {"error": "Not found."}, {"X-Error-Code": "ResponseNotFound"})
        features = dataset_features(dataset_id)
        if path == "/first-rows":
            rows = [{"row_idx": i, "row": dataset_row(dataset_id, config, split, i), "truncated_cells": []}
                    for i in range(min(total, 100))]
            return 200, {"dataset": dataset_id, "config": config, "split": split, "features": features,
                         "rows": rows, "truncated": False}, {}
        if path == "/rows":
            offset, length = int((q.get("offset") or ["0"])[0]), int((q.get("length") or ["100"])[0])
            if length > 100:
                raise _Reply(422, {"error": "Parameter 'length' must not be greater than 100"})
            rows = [{"row_idx": i, "row": dataset_row(dataset_id, config, split, i), "truncated_cells": []}
                    for i in range(offset, min(offset + length, total))]
            return 200, {"features": features, "rows": rows, "num_rows_total": total, "num_rows_per_page": 100,
                         "partial": False}, {}
        raise _Reply(404, {"error": "Not found."})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet: the fake's requests are in FakeHub.requests
        pass

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        fake: FakeHub = self.server.fake  # type: ignore[attr-defined]
        try:
            status, body, headers = fake.handle(method, unquote(url.path), parse_qs(url.query),
                                                self.headers.get("Authorization"), self.headers.get("Range"))
        except _Reply as reply:
            status, body, headers = reply.status, reply.body, reply.headers
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(raw)))
        if not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        if method != "HEAD":
            try:
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")


def use_fake_hub(monkeypatch, hub: FakeHub, cache_dir: Path) -> None:
    """Point huggingface_hub and the engine at ``hub`` for one test (see the module docstring)."""
    from huggingface_hub import constants

    from engines import hub as engine

    monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
    monkeypatch.setenv("WORKBENCH_DATASETS_SERVER_URL", hub.viewer_url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    engine.clear_cache()


# ------------------------------------------------------------------------------------------------ a demo to drive

DUMMY_TARGETS = ("compare.models", "tokenizers.tokenizers", "pipelines.model", "pipelines.task", "minutes.asr",
                 "images.model", "evaluate.models", "evaluate.dataset", "evaluate.dataset_config",
                 "evaluate.dataset_split")


def hub_demo(targets: tuple[str, ...] = DUMMY_TARGETS):
    """The Hub tab after stand-in tabs that register ``targets`` (each a plain component, elem_id
    ``dummy-<target with - for .>``; multiselect for the plural ones, as in the real tabs)."""
    import gradio as gr

    from tabs.common import Links
    from tabs.hub import handlers as hub_tab
    from tabs.server import WorkbenchBlocks, publish_api

    links = Links()
    tab_names = list(dict.fromkeys(t.split(".")[0] for t in targets))
    with WorkbenchBlocks(title="Hub test") as demo:
        with gr.Tabs() as links.tabs:
            for tab in tab_names:
                with gr.Tab(tab.capitalize(), id=tab):
                    for target in (t for t in targets if t.split(".")[0] == tab):
                        elem = "dummy-" + target.replace(".", "-")
                        plural = target.endswith(("models", "tokenizers"))
                        box = gr.Dropdown([], value=[] if plural else None, multiselect=plural,
                                          allow_custom_value=True, label=target, elem_id=elem)
                        links.register(target, tab, box)
            hub_tab.build(None, links)
        links.resolve()
    demo.queue()
    publish_api(demo)
    return demo


def served_hub(cache_dir: Path, token: str | None, *, slow_s: float = 3.0):
    """A context manager: a FakeHub, the environment pointing at it, and ``hub_demo()`` served on 127.0.0.1.

    Yields:
        (app url, the FakeHub).
    """
    import contextlib
    import socket

    import pytest

    @contextlib.contextmanager
    def serve():
        with FakeHub(token=token, slow_s=slow_s) as fake, pytest.MonkeyPatch.context() as mp:
            use_fake_hub(mp, fake, cache_dir)
            if token:
                mp.setenv("HF_TOKEN", token)
            demo = hub_demo()
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
            try:
                yield f"http://127.0.0.1:{port}/", fake
            finally:
                demo.close()

    return serve()
