"""The login throttle against a served app: X-Forwarded-For is believed only from configured proxies, and failures
count per (client address, user name)."""

from __future__ import annotations

import httpx
import pytest
from app_helpers import serve_app

LOGINS = "alice:alice-pass-1,bob:bob-pass-2"


def _serve(tmp_path_factory, models_dir, **env):
    log = tmp_path_factory.mktemp("throttle") / "app.log"
    return serve_app({"WORKBENCH_AUTH": LOGINS, "WORKBENCH_MODELS_DIR": str(models_dir),
                      "WORKBENCH_LOGIN_ATTEMPTS": "3", **env}, log)


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory, models_dir):
    proc, url = _serve(tmp_path_factory, models_dir)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory, models_dir):
    proc, url = _serve(tmp_path_factory, models_dir, WORKBENCH_TRUSTED_PROXIES="127.0.0.1/32, ::1")
    yield url
    proc.terminate()
    proc.wait(10)


def _login(url: str, user: str, password: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return httpx.post(url + "login", data={"username": user, "password": password}, headers=headers,
                      timeout=30).status_code


def test_a_rotating_forwarded_header_from_an_untrusted_peer_is_still_throttled(untrusted):
    codes = [_login(untrusted, "alice", "wrong", forwarded=f"203.0.113.{i}") for i in range(10)]
    assert codes[:3] == [400, 400, 400] and set(codes[3:]) == {429}, codes
    assert _login(untrusted, "alice", "alice-pass-1", forwarded="198.51.100.7") == 429


def test_another_user_name_from_the_same_address_is_not_locked_out(untrusted):
    for _ in range(4):
        _login(untrusted, "alice", "wrong")
    assert _login(untrusted, "alice", "alice-pass-1") == 429
    assert _login(untrusted, "bob", "bob-pass-2") == 200


def test_behind_a_trusted_proxy_the_forwarded_client_is_throttled_not_the_proxy(behind_proxy):
    attacker, neighbour = "203.0.113.9", "198.51.100.20"
    codes = [_login(behind_proxy, "alice", "wrong", forwarded=attacker) for _ in range(5)]
    assert codes[:3] == [400, 400, 400] and set(codes[3:]) == {429}, codes
    # a forged left-most entry changes nothing: the proxy appended the attacker's real address last
    assert _login(behind_proxy, "alice", "alice-pass-1", forwarded=f"10.9.9.9, {attacker}") == 429
    # the same user from another client behind the same proxy still logs in
    assert _login(behind_proxy, "alice", "alice-pass-1", forwarded=neighbour) == 200


def test_client_address_believes_forwarded_for_only_from_trusted_proxies():
    from tabs.access import _networks, client_address

    trusted = _networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_address("203.0.113.5", "1.2.3.4", trusted) == "203.0.113.5"
    assert client_address("127.0.0.1", "1.2.3.4", []) == "127.0.0.1"
    assert client_address("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.1.1", trusted) == "1.2.3.4"
    assert client_address("10.0.0.7", "not-an-ip", trusted) == "10.0.0.7"
    assert client_address("10.0.0.7", "", trusted) == "10.0.0.7"
    # on a Space with no list: only the hop its proxy added (the last one) counts
    assert client_address("172.16.0.3", "6.6.6.6, 1.2.3.4", [], space_hop=True) == "1.2.3.4"
    assert client_address("172.16.0.3", "[2001:db8::1]:443", [], space_hop=True) == "2001:db8::1"
