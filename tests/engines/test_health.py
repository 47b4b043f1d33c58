"""engines.health: what the header shows — Hub probe, catalog models in the models dir, the cache and memory."""

from __future__ import annotations

from engines import health
from engines.cache import CacheKey
from engines.config import Settings


def test_local_models_are_catalog_ids_found_in_the_models_dir(tmp_path):
    (tmp_path / "Qwen" / "Qwen2.5-0.5B-Instruct").mkdir(parents=True)
    (tmp_path / "someone" / "not-in-catalog").mkdir(parents=True)
    found = health.local_models(Settings(models_dir=tmp_path))
    assert found == ["Qwen/Qwen2.5-0.5B-Instruct"]
    assert health.local_models(Settings(models_dir=None)) == []


def test_health_reports_the_cache_and_unload_all_empties_it(fresh_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    class Weights:
        def get_memory_footprint(self):
            return 3 * 2**20

    fresh_cache.get(CacheKey("causal-lm", "/models/org/name", "fp32", "cpu"), Weights)
    h = health.health(Settings())
    assert h.hub_online is False  # HF_HUB_OFFLINE: never probed
    assert h.used_bytes == 3 * 2**20 and h.budget_bytes == fresh_cache.budget_bytes
    assert [row["key"].label() for row in h.loaded] == ["causal-lm org/name (fp32, cpu)"]
    assert health.unload_all() == 1 and len(fresh_cache) == 0
