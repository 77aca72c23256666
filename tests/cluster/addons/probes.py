"""Checks of a running add-on from this machine, standard library only: one DNS query (UDP)
to the cluster DNS, and one Prometheus API query."""

from __future__ import annotations

import json
import random
import socket
import struct
import urllib.parse
import urllib.request

_QTYPES = {"A": 1, "NS": 2, "SOA": 6, "PTR": 12, "TXT": 16, "AAAA": 28, "SRV": 33}
_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def dns_query(
    server: str, name: str, qtype: str = "A", *, port: int = 53, timeout_s: float = 3.0
) -> tuple[str, int]:
    """(rcode name, number of answer records) of one recursive-desired query for ``name``."""
    qid = random.randrange(1 << 16)
    labels = [label.encode() for label in name.rstrip(".").split(".") if label]
    question = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question
    packet += struct.pack(">HH", _QTYPES[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(packet, (server, port))
        while True:
            data, _ = sock.recvfrom(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    flags, _qd, answers = struct.unpack(">HHH", data[2:8])
    rcode = flags & 0xF
    return _RCODES.get(rcode, str(rcode)), answers


def dns_problem(server: str, cluster_domain: str = "cluster.local") -> str | None:
    """None when the cluster DNS at ``server`` answers a cluster name and refuses to resolve an
    outside name (NXDOMAIN, nothing forwarded); else what is wrong."""
    inside = f"kubernetes.default.svc.{cluster_domain}"
    try:
        rcode, answers = dns_query(server, inside)
        if rcode != "NOERROR" or answers < 1:
            return f"DNS {server}: {inside} -> {rcode} with {answers} answers"
        rcode, answers = dns_query(server, "example.com")
        if rcode not in ("NXDOMAIN", "REFUSED") or answers:
            return (
                f"DNS {server}: example.com -> {rcode} with {answers} answers (expected NXDOMAIN)"
            )
    except OSError as exc:
        return f"DNS {server}: {exc}"
    return None


def prometheus_query(
    base_url: str, query: str, *, timeout_s: float = 5.0
) -> list[dict[str, object]]:
    """The result vector of an instant query (``base_url`` like http://10.96.12.34:9090)."""
    url = f"{base_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    # no proxy from the environment: the address is the cluster's
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout_s) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"{query}: {body.get('error')}")
    return list(body["data"]["result"])
