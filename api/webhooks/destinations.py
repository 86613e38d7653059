"""Where a webhook may be sent: never to this machine, the organisation's own network or a cloud's
metadata service, unless WEBHOOK_ALLOWED_NETWORKS names that network.

A destination is checked twice: its URL when it is registered (`check_url`), and the addresses its name
resolves to at every send (`vet`), because a name that resolved to a public address yesterday may resolve
to 127.0.0.1 today (DNS rebinding). The worker then connects to the vetted address itself, never to the
name again, so a second lookup cannot swap it (see `api/webhooks/worker.py`).

Addresses are judged with the standard library's `ipaddress` only. A host written as a number in any of
the legacy spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) is read the way the C resolver reads
it (`socket.inet_aton`, which `getaddrinfo` uses for numeric hosts), so what is checked is what a
connection would reach. IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` of RFC 6052, 6to4 `2002::/16`) are judged by the IPv4
address inside as well.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# A resolver: (host name, port) -> the addresses a connection could go to. Injected, so tests control it.
Resolver = Callable[[str, int], Sequence[IPAddress]]

# Cloud instance metadata services (credentials live there): refused even inside an allowed network.
# AWS/GCP/Azure/OpenStack 169.254.169.254, AWS ECS 169.254.170.2, AWS IPv6 fd00:ec2::254, Alibaba
# 100.100.100.200.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 2.5.5.1 (deprecated, still routed by some stacks)
# Names that always mean this machine (RFC 6761 6.3) or a metadata service, whatever DNS says.
LOCAL_NAMES = ("localhost", "metadata.google.internal")


class RefusedDestination(ValueError):
    """The URL or the address it resolved to may not receive webhooks; the message says why without
    echoing the URL (it may hold credentials)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _internal(address: IPAddress) -> bool:
    # Each flag on its own, not `is_global` alone: which ranges `is_global` covers changed between Python
    # releases, and multicast ranges count as global.
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def refusal(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why `address` may not receive webhooks (a short phrase), or None if it may.

    Refused: loopback, private (RFC 1918, RFC 4193 unique-local), link-local, shared (RFC 6598),
    unspecified, multicast, reserved and documentation ranges, and cloud metadata addresses, also when
    wrapped in IPv6. An address inside one of `allowed` (WEBHOOK_ALLOWED_NETWORKS) is accepted, except
    a metadata address, which never is.
    """
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(address))
    if any(a in METADATA for a in candidates):
        return "a cloud metadata address"
    nets = list(allowed)
    if any(a.version == n.version and a in n for a in candidates for n in nets):
        return None
    # A wrapper in a well-known translation prefix is judged by the IPv4 address it carries (NAT64 of a
    # public host is how an IPv6-only network reaches it); any other IPv6 address must be public itself.
    inner = candidates[1:]
    wrapped = bool(inner) and (
        isinstance(address, ipaddress.IPv6Address)
        and (address.ipv4_mapped is not None or address in NAT64 or address in IPV4_COMPATIBLE)
    )
    judged = inner if wrapped else candidates
    if any(_internal(a) for a in judged):
        return "an internal address (loopback, private, link-local, multicast or reserved)"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number stands for, in any spelling the resolver accepts, or None
    for a name. `[...]` brackets are stripped; IPv4 goes through `socket.inet_aton`, which takes the
    legacy decimal, hex, octal and short (`127.1`) forms as `getaddrinfo` does."""
    bare = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def check_url(url: str, *, production: bool, allowed: Iterable[IPNetwork] = ()) -> None:
    """Refuse a webhook URL at registration: raises RefusedDestination naming the problem.

    Refused: a scheme other than https in production (http or https otherwise), user name or password in
    the URL, no host, a local name (`localhost`, `*.localhost`, a metadata host name) and a host written as
    an address that `refusal` refuses. Names are resolved at each send instead (`vet`).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedDestination("webhook URLs must use http or https")
    if production and parts.scheme != "https":
        raise RefusedDestination("webhook URLs must use https")
    if parts.username is not None or parts.password is not None:
        raise RefusedDestination("webhook URLs may not hold a user name or password")
    # Percent-decoded, as URL parsers (WHATWG, and so the API's URL type) decode a host before using it.
    host = unquote(parts.hostname or "").lower()
    if not host:
        raise RefusedDestination("webhook URLs need a host")
    name = host.rstrip(".")
    if any(name == n or name.endswith("." + n) for n in LOCAL_NAMES):
        raise RefusedDestination("webhook URLs may not point at this machine or a metadata service")
    address = literal_address(host)
    if address is not None and (why := refusal(address, allowed)) is not None:
        raise RefusedDestination(f"webhook URLs may not point at {why}")


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address `getaddrinfo` gives for host and port (TCP), in its order; OSError if none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The scope of a link-local IPv6 address ("fe80::1%eth0") is dropped: such an address is refused.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def vet(host: str, port: int, *, resolve: Resolver, allowed: Iterable[IPNetwork] = ()) -> IPAddress:
    """The address to connect to for host:port: resolved once, every address checked. Raises
    RefusedDestination if the name does not resolve or any address it resolves to is refused (a name
    answering with both a public and an internal address is a rebinding attempt, not a choice)."""
    nets = list(allowed)
    literal = literal_address(host)
    try:
        addresses = [literal] if literal is not None else list(resolve(host, port))
    except (OSError, UnicodeError) as exc:
        raise RefusedDestination("the name did not resolve") from exc
    if not addresses:
        raise RefusedDestination("the name did not resolve")
    for address in addresses:
        if (why := refusal(address, nets)) is not None:
            raise RefusedDestination(f"the name resolved to {why}")
    return addresses[0]
