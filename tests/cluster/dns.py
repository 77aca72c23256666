"""One DNS question to the cluster's DNS Service, from this machine (the answer proves
CoreDNS, its Service and kube-proxy's rules all work). Written here: a single A query needs
no resolver library, and the standard library cannot ask a given server."""

from __future__ import annotations

import random
import socket
import struct


def resolve(name: str, server: str, *, timeout_s: float = 2.0) -> str | None:
    """The first A record ``server`` gives for ``name``, or None when it has none."""
    ident = random.randrange(1 << 16)
    question = b"".join(bytes([len(part)]) + part.encode() for part in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(query, (server, 53))
        reply, _ = sock.recvfrom(4096)
    answer_id, flags, _qd, ancount, _ns, _ar = struct.unpack(">HHHHHH", reply[:12])
    if answer_id != ident or flags & 0x000F:
        return None
    offset = 12 + len(question) + 4
    for _ in range(ancount):
        offset = _skip_name(reply, offset)
        rtype, _cls, _ttl, length = struct.unpack(">HHIH", reply[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            return socket.inet_ntoa(reply[offset:offset + 4])
        offset += length
    return None


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        length = message[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length
