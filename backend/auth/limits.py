"""Sign-in limits: failed sign-ins (and refreshes with a bad token) use up allowances per
client address and per account; with none left every attempt is refused (429 with the wait),
a correct one too, so guessing a password costs the guesser time, not the server CPU."""

from backend.errors import TooManyRequestsError
from backend.ratelimit import Limiter


class SignInLimits:
    def __init__(self, by_ip: Limiter, by_account: Limiter) -> None:
        self.by_ip = by_ip
        self.by_account = by_account

    async def check(self, ip: str | None, account: str | None = None) -> None:
        """Refuse (429) when ``ip`` or ``account`` has no attempt left."""
        for limiter, key, whose in (
            (self.by_ip, ip, "from your network"),
            (self.by_account, _account(account), "for this account"),
        ):
            if key is None:
                continue
            wait = await limiter.retry_after(key)
            if wait > 0:
                raise TooManyRequestsError(
                    f"too many failed sign-ins {whose}; try again in {max(1, round(wait))} s",
                    retry_after_s=wait,
                    code="too_many_sign_ins",
                )

    async def failed(self, ip: str | None, account: str | None = None) -> None:
        if ip is not None:
            await self.by_ip.miss(ip)
        key = _account(account)
        if key is not None:
            await self.by_account.miss(key)

    async def close(self) -> None:
        await self.by_ip.close()
        await self.by_account.close()


def _account(account: str | None) -> str | None:
    return account.strip().lower() if account else None
