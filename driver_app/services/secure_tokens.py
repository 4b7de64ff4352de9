"""The :class:`TokenStore` of a Flet app: flet-secure-storage (Keychain on iOS, Keystore on
Android, WebCrypto-encrypted local storage in a browser). Make it inside a Flet session."""

from flet_secure_storage import SecureStorage

from driver_app.services.tokens import KEY


class SecureTokens:
    def __init__(self, storage: SecureStorage | None = None) -> None:
        self._storage = storage or SecureStorage()

    async def load(self) -> str | None:
        value = await self._storage.get(KEY)
        return value or None

    async def save(self, refresh_token: str) -> None:
        await self._storage.set(KEY, refresh_token)

    async def clear(self) -> None:
        await self._storage.remove(KEY)
