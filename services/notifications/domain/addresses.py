"""Where a webhook may be sent: the rules of its URL and of the addresses its host resolves to.

A webhook makes our servers call a URL that a customer typed. Without these rules anyone
could make us call our own services, the cloud's metadata endpoint (169.254.169.254, which
hands out credentials) or machines beside ours — server-side request forgery (the OWASP SSRF
prevention cheat sheet). So, in production:

- the URL is https: the payload is the company's data (plain http only in development);
- it carries no user name or password: they would be kept and shown as part of the URL, and
  the signature already tells the receiver that the call is ours;
- it names a host by a domain name or a literal IP address;
- every address the host resolves to is a public one: not private, loopback, link-local,
  multicast, reserved, unspecified, shared (carrier-grade NAT, 100.64.0.0/10), the cloud's
  metadata address, nor an IPv6 address that carries one of those inside it (IPv4-mapped,
  6to4, NAT64). Every one, not one of them: the connection may take any.

The addresses are to be checked as the connection is made (resolve, check, connect to the
checked address), never by a separate look-up beforehand: a name can resolve to a public
address for the check and to a private one for the call (DNS rebinding). Redirects are not
followed for the same reason (see `delivery_schedule.answered_ok`).

Pure: resolving the name is done elsewhere; this module takes the addresses. In development
(`dev_mode`) any address is allowed, so that tests can run a receiver on localhost.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

from services.kit.errors import InvalidArgument

IPAddress = IPv4Address | IPv6Address

URL_MAX = 2000
HTTPS = "https"
HTTP = "http"
DEFAULT_PORTS = {HTTPS: 443, HTTP: 80}

SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
NAT64_PREFIX = IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
# The clouds' instance metadata services (AWS, GCP, Azure, Yandex Cloud; AWS over IPv6).
METADATA_ADDRESSES = frozenset({IPv4Address("169.254.169.254"), IPv6Address("fd00:ec2::254")})
# Names that never lead to the public internet (RFC 6761, RFC 6762, RFC 8375, ICANN 2024).
LOCAL_NAME_SUFFIXES = ("localhost", "local", "internal", "home.arpa")

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_HEX_DIGITS = frozenset("0123456789abcdef")
_LABEL_MAX = 63
_NAME_MAX = 253


class ForbiddenAddress(InvalidArgument):
    """The URL leads somewhere webhooks may not go. The message names the kind of address,
    never the address a name resolved to: that would let anyone read our internal DNS."""

    reason = "FORBIDDEN_ADDRESS"

    def __init__(self, problem: str) -> None:
        text = f"webhooks may only call public internet addresses; {problem}"
        super().__init__(text, {"url": text})


@dataclass(frozen=True)
class WebhookTarget:
    """A URL that passed the rules, and what the caller must resolve and connect to."""

    url: str  # as given, without surrounding spaces: the path and query are the receiver's
    scheme: str
    host: str  # lower case, a domain name in ASCII (IDNA) or an IP address without brackets
    port: int


def _invalid_url(problem: str) -> InvalidArgument:
    return InvalidArgument("the webhook URL is not valid", {"url": problem})


def checked_webhook_url(url: str, *, dev_mode: bool) -> WebhookTarget:
    """The target of a webhook URL, or InvalidArgument (ForbiddenAddress for a literal
    address that is not public) saying what is wrong with it."""
    url = url.strip()
    if not url:
        raise _invalid_url("give the URL of your endpoint")
    if len(url) > URL_MAX:
        raise _invalid_url(f"use at most {URL_MAX} characters")
    if any(char.isspace() or not char.isprintable() for char in url):
        # urlsplit silently drops tabs and line breaks: what we keep would not be what was
        # checked.
        raise _invalid_url("a URL has no spaces or invisible characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _invalid_url("not a URL, or its port is not a number from 1 to 65535") from None
    scheme = parts.scheme.lower()
    if scheme != HTTPS and not (scheme == HTTP and dev_mode):
        raise _invalid_url(
            "use https://" if scheme == HTTP else "use an https:// URL of your endpoint"
        )
    if "@" in parts.netloc:
        raise _invalid_url(
            "no user name or password in the URL: each delivery is signed instead "
            "(webhook-signature)"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _invalid_url("name the host, e.g. https://example.com/hooks")
    if port == 0:
        raise _invalid_url("the port is a number from 1 to 65535")
    return WebhookTarget(
        url, scheme, _checked_host(host, dev_mode=dev_mode), port or DEFAULT_PORTS[scheme]
    )


def _checked_host(host: str, *, dev_mode: bool) -> str:
    literal = _ip_or_none(host)
    if literal is not None:
        problem = None if dev_mode else address_problem(literal)
        if problem:
            raise ForbiddenAddress(f"the URL's host is {problem}")
        return str(literal)
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _invalid_url("the host is not a valid domain name") from None
    labels = name.split(".")
    if len(name) > _NAME_MAX or not all(_is_label(label) for label in labels):
        raise _invalid_url("the host is not a valid domain name")
    if dev_mode:
        return name
    if len(labels) == 1:
        # A bare name is completed by our resolver's search domains: ours, not the company's.
        raise ForbiddenAddress("give the host's full domain name, e.g. hooks.example.com")
    if _is_number(labels[-1]):
        # "127.1", "2130706433.", "0.0.0.0x7f": resolvers read these as IPv4 addresses, and no
        # domain ends in a number (the WHATWG URL standard's rule).
        raise _invalid_url("write an IP address in its usual form, e.g. 203.0.113.10")
    if any(name == suffix or name.endswith("." + suffix) for suffix in LOCAL_NAME_SUFFIXES):
        raise ForbiddenAddress("the URL's host is a local name")
    return name


def _is_label(label: str) -> bool:
    return (
        0 < len(label) <= _LABEL_MAX
        and set(label) <= _LABEL_CHARS
        and not label.startswith("-")
        and not label.endswith("-")
    )


def _is_number(label: str) -> bool:
    if label.startswith("0x"):
        return set(label[2:]) <= _HEX_DIGITS
    return label.isdigit()


def _ip_or_none(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def address_problem(address: IPAddress) -> str | None:
    """What kind of address this is when it is not a public one (None when it is)."""
    if isinstance(address, IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            problem = address_problem(inner)
            return f"{problem} inside an IPv6 address" if problem else None
    if address in METADATA_ADDRESSES:
        return "the cloud's metadata service"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    # Reserved before private: Python counts 240.0.0.0/4 among the private networks too.
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a special-purpose address"
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one leads to, where the network translates it."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def checked_addresses(
    addresses: Iterable[str | IPAddress], *, dev_mode: bool
) -> tuple[IPAddress, ...]:
    """The resolved addresses of a webhook's host, all of them allowed, to connect to;
    ForbiddenAddress if any is not (unless `dev_mode`), InvalidArgument if there are none."""
    parsed: list[IPAddress] = []
    for address in addresses:
        ip = address if isinstance(address, IPv4Address | IPv6Address) else _ip_or_none(address)
        if ip is None:
            raise ForbiddenAddress("the URL's host resolves to something that is not an address")
        parsed.append(ip)
    if not parsed:
        raise _invalid_url("the URL's host has no address")
    if not dev_mode:
        for ip in parsed:
            problem = address_problem(ip)
            if problem:
                raise ForbiddenAddress(f"the URL's host resolves to {problem}")
    return tuple(parsed)
