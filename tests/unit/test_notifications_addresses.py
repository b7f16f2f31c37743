"""Where webhooks may go: https URLs without credentials, to public addresses only (in
production)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kit.errors import InvalidArgument
from services.notifications.domain.addresses import (
    ForbiddenAddress,
    WebhookTarget,
    address_problem,
    checked_addresses,
    checked_webhook_url,
)


def refused_url(url: str, *, dev_mode: bool = False) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        checked_webhook_url(url, dev_mode=dev_mode)
    assert set(caught.value.fields) == {"url"}
    return caught.value


# The URL


def test_an_https_url_gives_its_host_and_port():
    assert checked_webhook_url(
        " https://Hooks.Example.com/vm?x=1 ", dev_mode=False
    ) == WebhookTarget("https://Hooks.Example.com/vm?x=1", "https", "hooks.example.com", 443)
    target = checked_webhook_url("https://example.com:8443/", dev_mode=False)
    assert target.port == 8443


def test_an_international_domain_name_is_resolved_in_ascii():
    target = checked_webhook_url("https://пример.рф/hook", dev_mode=False)
    assert target.host == "xn--e1afmkfd.xn--p1ai"


def test_a_public_literal_address_is_allowed():
    assert checked_webhook_url("https://203.0.114.10/h", dev_mode=False).host == "203.0.114.10"
    assert checked_webhook_url("https://[2606:4700::1111]/h", dev_mode=False).host == (
        "2606:4700::1111"
    )


def test_plain_http_only_in_development():
    assert "https" in refused_url("http://example.com/hook").fields["url"]
    target = checked_webhook_url("http://localhost:9000/hook", dev_mode=True)
    assert (target.scheme, target.host, target.port) == ("http", "localhost", 9000)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "example.com/hook",
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://",
        "https:///path",
        "https://exa mple.com/",
        "https://example.com/\nhook",
        "https://example.com/\thook",
        "https://example.com:99999/",
        "https://example.com:0/",
        "https://example.com:port/",
        "https://[::1/",
        "https://exa_mple..com/",
        "https://-example.com/",
        "https://" + "a" * 64 + ".com/",
        "https://" + ".".join(["abcdefghij"] * 25) + ".com/",
        "https://exam!ple.com/",
        "https://example.com/" + "x" * 2000,
    ],
)
def test_what_is_not_a_webhook_url(url):
    refused_url(url)
    refused_url(url, dev_mode=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@example.com/hook",
        "https://user@example.com/hook",
        "https://:secret@example.com/hook",
        "https://@example.com/hook",
    ],
)
def test_no_credentials_in_the_url(url):
    assert "password" in refused_url(url).fields["url"]
    refused_url(url, dev_mode=True)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://127.0.0.1/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://10.1.2.3/", "private"),
        ("https://192.168.0.10/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://100.64.0.1/", "shared"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://[fe80::1]/", "link-local"),
    ],
)
def test_a_literal_address_that_is_not_public_is_refused(url, kind):
    error = refused_url(url)
    assert isinstance(error, ForbiddenAddress)
    assert error.reason == "FORBIDDEN_ADDRESS"
    assert kind in error.fields["url"]
    checked_webhook_url(url, dev_mode=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/",
        "https://LOCALHOST./",
        "https://api.localhost/",
        "https://printer.local/",
        "https://db.internal/",
        "https://router.home.arpa/",
        "https://intranet/",
    ],
)
def test_local_names_are_refused_in_production(url):
    assert isinstance(refused_url(url), ForbiddenAddress)
    checked_webhook_url(url, dev_mode=True)


@pytest.mark.parametrize(
    "url",
    ["https://127.1/", "https://0x7f.0.0.1/", "https://10.0.0.0x1/", "https://1.2.3.04/"],
)
def test_addresses_in_disguise_are_refused(url):
    refused_url(url)


# The resolved addresses


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.0.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("100.100.100.200", "shared"),  # Alibaba Cloud's metadata address
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:100.64.0.1", "shared"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("192.0.2.1", "private"),  # documentation
        ("198.18.0.1", "private"),  # benchmarking
        ("2001:db8::1", "private"),  # documentation
    ],
)
def test_addresses_that_are_not_public(address, kind):
    problem = address_problem(ip_address(address))
    assert problem is not None
    assert kind in problem
    with pytest.raises(ForbiddenAddress) as caught:
        checked_addresses(["203.0.114.10", address], dev_mode=False)
    assert kind in caught.value.fields["url"]
    assert address not in caught.value.message  # never tells what our resolver answered


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "203.0.114.10",
        "77.88.8.8",
        "100.63.255.255",  # just below the shared space
        "100.128.0.0",  # just above it
        "2606:4700::1111",
        "2a02:6b8::feed",
        "::ffff:8.8.8.8",
        "2002:808:808::",  # 6to4 of 8.8.8.8
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    ],
)
def test_public_addresses(address):
    assert address_problem(ip_address(address)) is None


def test_every_resolved_address_must_be_public():
    good = checked_addresses(["8.8.8.8", IPv6Address("2606:4700::1111")], dev_mode=False)
    assert good == (IPv4Address("8.8.8.8"), IPv6Address("2606:4700::1111"))
    with pytest.raises(ForbiddenAddress):
        checked_addresses(["8.8.8.8", "10.0.0.1", "1.1.1.1"], dev_mode=False)


def test_development_allows_any_address():
    assert checked_addresses(["127.0.0.1", "::1", "10.0.0.1"], dev_mode=True) == (
        IPv4Address("127.0.0.1"),
        IPv6Address("::1"),
        IPv4Address("10.0.0.1"),
    )


def test_a_host_without_addresses_or_with_garbage_is_refused():
    for dev_mode in (False, True):
        with pytest.raises(InvalidArgument, match="not valid"):
            checked_addresses([], dev_mode=dev_mode)
        with pytest.raises(ForbiddenAddress):
            checked_addresses(["not-an-ip"], dev_mode=dev_mode)


@given(st.ip_addresses())
def test_any_address_is_judged_without_error(address):
    problem = address_problem(address)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        assert checked_addresses([address], dev_mode=False) == (address,)


@given(st.ip_addresses(network="10.0.0.0/8") | st.ip_addresses(network="fc00::/7"))
def test_private_networks_are_never_public(address):
    assert address_problem(address) is not None


@given(st.text(max_size=80))
def test_any_text_is_a_url_or_a_validation_error(text):
    for dev_mode in (False, True):
        try:
            target = checked_webhook_url(text, dev_mode=dev_mode)
        except InvalidArgument as error:
            assert "url" in error.fields
        else:
            assert target.scheme in ("https", "http")
            assert 1 <= target.port <= 65535
