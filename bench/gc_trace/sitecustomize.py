"""Log the garbage collector's passes of every Python process started with this folder on
``PYTHONPATH`` and ``LASTMILE_GC_TRACE`` set to a folder (a bench tool, not the product):

    LASTMILE_GC_TRACE=/tmp/gc PYTHONPATH=bench/gc_trace .venv/bin/python bench/ingest.py ...

Writes ``<folder>/gc-<pid>.log``: one line per pass that took over 5 ms or included
generation 1 or 2 (epoch time, generation, milliseconds, objects collected, the thresholds
then); for every third generation-1 pass, the most common types waiting in generation 1.
``python -m backend serve`` is the process whose command line names ``serve``.
"""

import os

_FOLDER = os.environ.get("LASTMILE_GC_TRACE")

if _FOLDER:
    import collections
    import gc
    import time
    from typing import Any

    _state: dict[str, float] = {"started": 0.0, "older": 0}
    _log = os.path.join(_FOLDER, f"gc-{os.getpid()}.log")
    os.makedirs(_FOLDER, exist_ok=True)

    def _waiting() -> str:
        kinds = collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects(1)
        )
        return f"   waiting in generation 1: {sum(kinds.values())} {kinds.most_common(12)}\n"

    def _trace(phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            if generation == 1:
                _state["older"] += 1
                if _state["older"] % 3 == 0:
                    with open(_log, "a") as out:
                        out.write(_waiting())
            _state["started"] = time.perf_counter()
            return
        ms = (time.perf_counter() - _state["started"]) * 1000
        if ms > 5 or generation > 0:
            with open(_log, "a") as out:
                out.write(
                    f"{time.time():.1f} gen{generation} {ms:.0f} ms"
                    f" collected={info['collected']} thresholds={gc.get_threshold()}\n"
                )

    gc.callbacks.append(_trace)
