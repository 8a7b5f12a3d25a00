"""What the asyncssh test servers share: a server on 127.0.0.1 in a thread with its own
event loop, its host key trusted on request, and a clean stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncssh


class LoopServer:
    """Start ``listen(host_key)`` (a coroutine making an asyncssh acceptor on 127.0.0.1,
    port 0) on a loop of its own; ``port`` is where it listens."""

    def __init__(self, listen: Callable[[asyncssh.SSHKey], Coroutine[Any, Any,
                                                                       asyncssh.SSHAcceptor]]):
        self._key = asyncssh.generate_private_key("ssh-ed25519")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(listen(self._key), self._loop).result(30)
        self.port: int = self._server.sockets[0].getsockname()[1]

    def trust(self, config_dir: Path) -> None:
        """Record the server's key in LayerForge's known_hosts, as an earlier Trust would."""
        key = self._key.export_public_key().decode().split()
        config_dir.mkdir(parents=True, exist_ok=True)
        with (config_dir / "known_hosts").open("a") as f:
            f.write(f"[127.0.0.1]:{self.port} {key[0]} {key[1]}\n")

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
