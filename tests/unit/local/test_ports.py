"""The start-up port check agrees with how the servers bind: a port a stopped run left in TIME_WAIT is
free (the servers bind with SO_REUSEADDR), a port another process listens on is not."""

from __future__ import annotations

import socket

import pytest

from local.ports import PortInUse, ensure_free, free_port


def _leave_in_time_wait(host: str) -> int:
    """A listening port whose side closed an accepted connection first, as a stopped server does."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
    server.bind((host, 0))
    server.listen()
    port = int(server.getsockname()[1])
    client = socket.create_connection((host, port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection goes to TIME_WAIT
    server.close()
    client.recv(1)
    client.close()
    return port


def test_a_port_in_time_wait_is_free_to_start_again() -> None:
    port = _leave_in_time_wait("127.0.0.1")
    ensure_free("127.0.0.1", {"api": port})  # does not raise


def test_a_port_another_process_listens_on_is_refused_with_its_role() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 \\(alb\\) is in use"):
            ensure_free("127.0.0.1", {"api": free_port(), "alb": port})


def test_free_ports_are_below_the_ephemeral_range_and_bindable() -> None:
    """A released ephemeral port can become an outgoing connection's local end before its server
    binds it; ports below the range never are."""
    import socket

    from local.ports import _ephemeral_low

    low = _ephemeral_low()
    ports = {free_port() for _ in range(20)}
    assert all(20_000 <= p < low for p in ports) and len(ports) > 1
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
