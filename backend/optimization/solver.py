"""The solver interface: pick an engine per problem, solve off the event loop with a time limit
and a fixed seed, and return every job either routed or listed with the reason it is not.

Engines: PyVRP (``pyvrp``, hybrid genetic search; ~0.4 % above the best-known distance on the
Solomon instances at 3 s here) for every problem it can express, OR-Tools (``ortools``) for
the rest (skills, driver breaks, soft windows). ``engine`` forces one; ``"auto"`` picks.
"""

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Literal

from backend.optimization import ortools_engine, pyvrp_engine
from backend.optimization.checks import unservable
from backend.optimization.problem import OnBest, Problem
from backend.optimization.solution import Solution

Engine = Literal["auto", "pyvrp", "ortools"]


def pick_engine(problem: Problem, engine: Engine = "auto") -> str:
    if engine == "pyvrp" and not pyvrp_engine.can_solve(problem):
        raise ValueError(
            "PyVRP cannot express skills, breaks or soft windows; use 'ortools' or 'auto'"
        )
    if engine != "auto":
        return engine
    return pyvrp_engine.NAME if pyvrp_engine.can_solve(problem) else ortools_engine.NAME


def solve(
    problem: Problem,
    time_limit_s: float = 3.0,
    seed: int = 1,
    engine: Engine = "auto",
    on_best: OnBest | None = None,
) -> Solution:
    """Solve in this thread (CPU-bound for ``time_limit_s``): use :func:`solve_async` or
    :mod:`backend.optimization.worker` from the event loop."""
    ruled_out = unservable(problem)
    jobs = [j for j in problem.jobs if j.id not in ruled_out]
    chosen = pick_engine(problem, engine)
    run = pyvrp_engine.solve if chosen == pyvrp_engine.NAME else ortools_engine.solve
    found = (
        run(problem, jobs, time_limit_s, seed, on_best) if jobs else Solution((), (), chosen, 0.0)
    )
    order = {j.id: k for k, j in enumerate(problem.jobs)}
    unassigned = sorted([*found.unassigned, *ruled_out.items()], key=lambda u: order[u[0]])
    return Solution(found.routes, tuple(unassigned), found.engine, found.runtime_s)


_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:  # "spawn": never fork a process that runs an event loop and threads
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def solve_async(
    problem: Problem, time_limit_s: float = 3.0, seed: int = 1, engine: Engine = "auto"
) -> Solution:
    """:func:`solve` in a worker process, so the event loop keeps serving meanwhile."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), solve, problem, time_limit_s, seed, engine)
