"""Elastic IPs from 192.0.2.0/24 (RFC 5737, documentation), where moto draws any address: the
local Lambda service's NAT gateway leaves from the stack's `StaticEgressIp` output, and no
real address is ever used.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when never: no real address may be used locally.
"""

import itertools
import threading

from moto.ec2.models import elastic_ip_addresses as ec2_addresses


_addresses = itertools.cycle(range(10, 255))
_addresses_lock = threading.Lock()


def documentation_address():
    """The next of 192.0.2.10 to 192.0.2.254, round (.1 is the NAT link's internet side)."""
    with _addresses_lock:
        return f"192.0.2.{next(_addresses)}"


ec2_addresses.random_ip = documentation_address
