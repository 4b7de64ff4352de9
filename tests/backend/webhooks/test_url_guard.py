"""The URL guard against server-side request forgery: schemes, address classes, names
that resolve to private addresses, and the admin setting that lifts it."""

import ipaddress

import pytest

from backend.webhooks.url_guard import UnsafeUrlError, address_refusal, check_url


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),  # carrier-grade NAT
    ],
)
def test_non_public_addresses_are_refused_with_their_class(address: str, label: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert label in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:6379/", "only http and https"),
        ("http:///nohost", "no host"),
        ("http://user:pw@8.8.8.8/", "credentials"),
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://localhost/hook", "loopback"),  # a name is judged by what it resolves to
        ("http://[::1]/hook", "loopback"),
        ("http://10.0.0.5/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 written as one number
        ("http://host.invalid/hook", "does not resolve"),
    ],
)
async def test_unsafe_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsafeUrlError, match=message):
        await check_url(url, allow_private=False)


async def test_a_public_address_is_pinned_for_the_send() -> None:
    target = await check_url("https://8.8.8.8/hook", allow_private=False)
    assert (target.host, target.address) == ("8.8.8.8", "8.8.8.8")


async def test_the_admin_setting_allows_private_addresses_but_not_other_schemes() -> None:
    target = await check_url("http://127.0.0.1:8000/hook", allow_private=True)
    assert target.address is None  # resolved by the HTTP client as usual
    with pytest.raises(UnsafeUrlError, match="only http and https"):
        await check_url("ftp://127.0.0.1/", allow_private=True)
