"""A fake server for the offline queue, the unreliable link in front of it, a fake clock."""

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from driver_app.logic.actions import Files
from driver_app.services.outbox import QueuedAction
from shared.api_client import ApiError
from shared.schemas.locations import FixIn, IngestResponse, RejectedFix

START = datetime(2031, 3, 14, 8, 0, tzinfo=UTC)


class FakeClock:
    """``now`` moves only when the code under test pauses (``sleep``), instantly."""

    def __init__(self, start: datetime = START) -> None:
        self.at = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.at += timedelta(seconds=seconds)
        await asyncio.sleep(0)


@dataclass
class FakeServer:
    """Does each client id once, in the order it first arrives, and answers a replay with
    the first answer, as the real endpoints do. Fixes are kept once per ``recorded_at``."""

    done: list[str] = field(default_factory=list)  # client ids, in the order done
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)  # deliveries per client id
    files: dict[str, Files] = field(default_factory=dict)
    fixes: list[FixIn] = field(default_factory=list)
    fix_requests: int = 0
    # what was done, in order: a client id, or the batch of fixes of one request
    timeline: list[str | list[FixIn]] = field(default_factory=list)
    # client id -> the error to answer instead (a conflict, a refusal)
    refuse: dict[str, ApiError] = field(default_factory=dict)

    def handle(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        self.requests[item.client_id] = self.requests.get(item.client_id, 0) + 1
        if item.client_id in self.refuse:
            raise self.refuse[item.client_id]
        if item.client_id not in self.answers:
            self.done.append(item.client_id)
            self.timeline.append(item.client_id)
            self.files[item.client_id] = files
            self.answers[item.client_id] = {
                "order_id": item.action.order_id,
                "n": len(self.done),
                "replayed": False,
            }
            return self.answers[item.client_id]
        return {**self.answers[item.client_id], "replayed": True}

    def handle_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        self.fix_requests += 1
        self.timeline.append(fixes)
        seen = {f.recorded_at for f in self.fixes}
        rejected = []
        for index, fix in enumerate(fixes):
            if fix.recorded_at in seen:
                rejected.append(RejectedFix(index=index, reason="duplicate", message="seen"))
            else:
                seen.add(fix.recorded_at)
                self.fixes.append(fix)
        return IngestResponse(accepted=len(fixes) - len(rejected), rejected=rejected)


class Link:
    """A perfect network in front of a :class:`FakeServer` (a :class:`Sender`)."""

    base_url = "http://fake.test"

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.refreshes = 0

    async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        return self.server.handle(item, files)

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        return self.server.handle_fixes(fixes)

    async def refresh(self) -> None:
        self.refreshes += 1


@dataclass
class Mishaps:
    lost_requests: int = 0  # never reached the server
    lost_answers: int = 0  # reached it, the answer never came back
    duplicated: int = 0  # reached it twice
    late: int = 0  # reached it after the phone gave up on it


class FlakyLink(Link):
    """A link that fails ``fail_rate`` of the requests, half of them before the server saw
    them and half after (the answer is lost), delivers some twice, and holds some back to
    deliver them later, after the phone has given up and sent again."""

    def __init__(
        self,
        server: FakeServer,
        rng: random.Random,
        *,
        fail_rate: float = 0.3,
        duplicate_rate: float = 0.05,
        late_rate: float = 0.3,
        latency: Callable[[float], Any] | None = None,
    ) -> None:
        super().__init__(server)
        self.rng = rng
        self.fail_rate, self.duplicate_rate, self.late_rate = fail_rate, duplicate_rate, late_rate
        self.latency = latency
        self.held: list[tuple[QueuedAction, Files]] = []  # requests still in the network
        self.mishaps = Mishaps()

    async def _wait(self) -> None:
        if self.latency is not None:
            await self.latency(self.rng.uniform(0.01, 0.5))
        else:
            await asyncio.sleep(0)

    def _deliver_late(self) -> None:
        """Requests held back arrive now, before this one."""
        while self.held and self.rng.random() < 0.5:
            item, files = self.held.pop(self.rng.randrange(len(self.held)))
            self.mishaps.late += 1
            self.server.handle(item, files)

    async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        await self._wait()
        self._deliver_late()
        roll = self.rng.random()
        if roll < self.fail_rate / 2:
            self.mishaps.lost_requests += 1
            if self.rng.random() < self.late_rate:
                self.held.append((item, files))
            raise httpx.ConnectError("the request was lost on the way")
        answer = self.server.handle(item, files)
        if self.rng.random() < self.duplicate_rate:
            self.mishaps.duplicated += 1
            answer = self.server.handle(item, files)  # the network sent it again
        await self._wait()
        if roll < self.fail_rate:
            self.mishaps.lost_answers += 1
            raise httpx.ReadTimeout("the answer was lost on the way back")
        return answer

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        await self._wait()
        roll = self.rng.random()
        if roll < self.fail_rate / 2:
            raise httpx.ConnectError("the request was lost on the way")
        answer = self.server.handle_fixes(fixes)
        if roll < self.fail_rate:
            raise httpx.ReadTimeout("the answer was lost on the way back")
        return answer
