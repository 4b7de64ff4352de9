"""Run one solve in its own process: progress while it searches, cancellable at any moment.

The event loop never runs solver code: the child process (``spawn``, so nothing of the
server's threads or sockets is inherited) sends ``("best", drive_s, distance_m, served)``
for every better plan, then ``("done", Solution)`` or ``("error", message)``. Cancelling
terminates the child.
"""

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from backend.optimization.problem import Problem
from backend.optimization.solution import Solution
from backend.optimization.solver import Engine, solve

_CONTEXT = multiprocessing.get_context("spawn")


@dataclass(frozen=True, slots=True)
class Best:
    drive_s: int
    distance_m: int
    served: int


def _child(conn: Connection, problem: Problem, budget_s: float, seed: int, engine: Engine) -> None:
    try:
        solution = solve(
            problem,
            budget_s,
            seed,
            engine,
            on_best=lambda d, m, n: conn.send(("best", d, m, n)),
        )
        conn.send(("done", solution))
    except Exception as exc:  # reported to the parent, which marks the job failed
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class SolveRun:
    """One solve in a child process; iterate :meth:`events`, or :meth:`cancel` it."""

    def __init__(self, problem: Problem, budget_s: float, seed: int = 1, engine: Engine = "auto"):
        self.budget_s = budget_s
        self._parent, child = _CONTEXT.Pipe(duplex=False)
        self._process = _CONTEXT.Process(
            target=_child, args=(child, problem, budget_s, seed, engine), daemon=True
        )
        self._process.start()
        child.close()
        self.started = time.monotonic()

    @property
    def percent(self) -> int:
        """Share of the time budget used so far (the search runs for all of it)."""
        return min(99, int(100 * (time.monotonic() - self.started) / max(self.budget_s, 0.001)))

    async def events(self) -> AsyncIterator[Best | Solution]:
        """Each better plan (:class:`Best`), then the :class:`Solution`; raises if it failed."""
        while True:
            ready = await asyncio.to_thread(self._parent.poll, 0.25)
            if not ready:
                if not self._process.is_alive() and not self._parent.poll():
                    raise RuntimeError("the solver process ended without an answer")
                continue
            try:
                message: tuple[Any, ...] = self._parent.recv()
            except EOFError as exc:
                raise RuntimeError("the solver process ended without an answer") from exc
            if message[0] == "best":
                yield Best(*message[1:])
            elif message[0] == "done":
                yield message[1]
                return
            else:
                raise RuntimeError(str(message[1]))

    def cancel(self) -> None:
        if self._process.is_alive():
            self._process.terminate()

    async def close(self) -> None:
        self.cancel()
        await asyncio.to_thread(self._process.join, 5)
        with contextlib.suppress(OSError):
            self._parent.close()
