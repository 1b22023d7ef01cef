"""Which addresses ``fetch`` may connect to: public unicast only, unless the task allows private ones.

Checks run on resolved IP addresses, never on host names, so every spelling of an address (decimal
``2130706433``, hex ``0x7f000001``, ``127.1``, IPv4-mapped IPv6 ``::ffff:127.0.0.1``) is caught the same.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
Guard = Callable[[IPAddress], "str | None"]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata service",
    ipaddress.ip_address("100.100.100.200"): "cloud metadata service",
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SPECIAL = {
    ipaddress.ip_network("192.0.0.0/24"): "IETF protocol assignment address",
    ipaddress.ip_network("3fff::/20"): "documentation address",
}
"""Special-purpose ranges that this Python's ``ipaddress`` may not know yet (RFC 6890, RFC 9637)."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (``None`` when it is)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = forbidden_reason(inner)
            return f"{reason} (IPv4 {inner} inside IPv6)" if reason else None
    if ip in _METADATA:
        return _METADATA[ip]
    for test, label in (
        (ip.is_unspecified, "unspecified address"),
        (ip.is_loopback, "loopback address"),
        (ip.is_link_local, "link-local address"),
        *((ip in net, label) for net, label in _SPECIAL.items() if net.version == ip.version),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local address (fec0::/10)"),
        (ip.is_multicast, "multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "carrier-grade NAT address"),
        (ip.is_private, "private network address"),
        (ip.is_reserved, "reserved address"),
    ):
        if test:
            return label
    if not ip.is_global:
        return "non-public address"
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    """All addresses the system resolver gives for ``host`` (IP literals in any spelling included)."""
    import anyio

    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in seen:
            seen.append(address)
    return seen


class BlockedAddress(Exception):
    """A host resolved to an address the task does not allow."""


async def checked_address(host: str, port: int, *, resolve: Resolver, guard: Guard | None) -> str:
    """Resolve ``host`` once and return the address to connect to; every resolved address must pass."""
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise OSError(f"cannot resolve host {host!r}: {exc.strerror or exc}") from None
    if not addresses:
        raise OSError(f"cannot resolve host {host!r}: no addresses")
    if guard is not None:
        for address in addresses:
            reason = guard(ipaddress.ip_address(address))
            if reason:
                raise BlockedAddress(
                    f"refused: {host} resolves to {address} ({reason}). Only public addresses may be "
                    "fetched; a task can allow private ones with the fetch option `allow_private: true`."
                )
    return addresses[0]
