"""Run the platform the way README.md tells a newcomer to: its ``scripts/run`` line, as written.

The run prints one ``NAME: URL`` per line and the logins (README "Two commands"); this module
reads them from the output, waits until every URL answers, and stops the run as Ctrl-C in a
terminal does: SIGINT to its whole process group.
"""

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

README = Path(__file__).resolve().parents[2] / "README.md"
URL_LINE = re.compile(r"^([a-z][a-z-]*): (https?://\S+)$")
LOGIN_LINE = re.compile(r"^\s+([a-z]+):\s+(\S+@\S+?)(?:\s|$)")
PASSWORD = re.compile(r"password for all: ([^)\s]+)")
NANOBIND_LEAKS = re.compile(r"^(nanobind: |See https://nanobind| - leaked | - \.\.\. skipped)")
# Settings of the machine's environment that would point the demo away from its own data.
ISOLATE_FROM = ("DATABASE_URL", "REDIS_URL", "LASTMILE_ROUTING_URL", "LASTMILE_PUBLIC_BASE_URL")


def readme_run_command(readme: Path = README) -> list[str]:
    """The ``scripts/run`` line of the README's "Two commands" code block, comment stripped."""
    text = readme.read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    for line in block.splitlines():
        if line.startswith("scripts/run"):
            return shlex.split(line, comments=True)
    raise AssertionError("README.md's 'Two commands' block has no scripts/run line")


@dataclass
class DemoOutput:
    """What the run printed: its URLs by name (``track`` repeats) and the logins."""

    urls: dict[str, list[str]] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    password: str = ""

    @classmethod
    def parse(cls, text: str) -> "DemoOutput":
        out = cls()
        for line in text.splitlines():
            if found := URL_LINE.match(line):
                out.urls.setdefault(found.group(1), []).append(found.group(2))
            elif found := LOGIN_LINE.match(line):
                out.logins.setdefault(found.group(1), found.group(2))
            elif found := PASSWORD.search(line):
                out.password = found.group(1)
        return out

    def complete(self) -> bool:
        """Every interface's URL and the logins are out (the logins come last)."""
        named = all(name in self.urls for name in ("backend", "dispatcher", "driver", "track"))
        signed = all(role in self.logins for role in ("dispatcher", "driver"))
        return named and signed and bool(self.password)

    def url(self, name: str) -> str:
        return self.urls[name][0]


class DemoRun:
    """``command`` started from ``root`` in its own process group, its output in ``log``."""

    def __init__(self, command: list[str], root: Path, data_dir: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ISOLATE_FROM}
        env["LASTMILE_DATA_DIR"] = str(data_dir)
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        """The output's last lines, for a failure's message; without the osrm bindings' leak
        report at exit (``nanobind: leaked …``), which would push the cause out of view."""
        kept = [line for line in self.output().splitlines() if not NANOBIND_LEAKS.match(line)]
        return "\n".join([*kept[-lines:], f"(the whole output: {self.log})"])

    def wait_for_output(self, within_s: float) -> DemoOutput:
        """The printed URLs and logins, once they are all out; fails if the run ends first."""
        deadline = time.monotonic() + within_s
        while True:
            text = self.output()
            printed = DemoOutput.parse(text[: text.rfind("\n") + 1])  # whole lines only
            if printed.complete():
                return printed
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the run exited with {self.process.returncode} before printing its "
                    f"URLs and logins:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no URLs and logins within {within_s:.0f} s:\n{self.tail()}")
            time.sleep(0.5)

    def wait_until_serving(self, urls: list[str], within_s: float) -> None:
        """Every URL answers 200 (after redirects)."""
        deadline = time.monotonic() + within_s
        waiting = list(urls)
        with httpx.Client(timeout=5, follow_redirects=True) as http:
            while waiting:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"the run exited with {self.process.returncode}:\n{self.tail()}"
                    )
                try:
                    if http.get(waiting[0]).status_code == 200:
                        waiting.pop(0)
                        continue
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{waiting[0]} did not answer in time:\n{self.tail()}")
                time.sleep(0.5)

    def interrupt(self, within_s: float) -> int:
        """Ctrl-C: SIGINT to the whole group, as a terminal sends it; the exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=within_s)

    def kill(self) -> None:
        """Whatever of the group is still running, ended (after a failure)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
