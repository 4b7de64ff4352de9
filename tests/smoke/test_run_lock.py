"""``scripts/run`` installs requirements/run.lock into the same .venv that ``scripts/test``
filled from requirements/test.lock (the smoke test runs it there, and so does a developer
after the tests). That is sound only while run.lock pins nothing test.lock pins otherwise:
the install then changes nothing, and the test lock's stamp stays true."""

import re
from pathlib import Path

LOCKS = Path(__file__).resolve().parents[2] / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?)==(\S+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """Package (normalised name) -> (version, hashes) of a pip-compile'd lock."""
    found: dict[str, tuple[str, set[str]]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        if pin := PIN.match(line):
            name = re.sub(r"[-_.]+", "-", pin.group(1).split("[")[0]).lower()
            found[name] = (pin.group(2), set())
        for digest in HASH.findall(line):
            found[name][1].add(digest)
    return {k: (version, frozenset(hashes)) for k, (version, hashes) in found.items()}


def test_the_run_lock_pins_nothing_the_test_lock_pins_otherwise() -> None:
    run, test = pins(LOCKS / "run.lock"), pins(LOCKS / "test.lock")
    assert len(run) > 50  # the lock was read, not an empty parse
    differ = {
        name: (version, test[name][0] if name in test else "missing")
        for name, (version, hashes) in run.items()
        if name not in test or test[name][0] != version or not hashes & test[name][1]
    }
    assert not differ, f"run.lock -> test.lock: {differ}"
