"""A minimal change notifier, so views can re-render when a state object changes."""

from collections.abc import Callable

Listener = Callable[[], None]


class Observable:
    """Calls its listeners after every change; ``version`` counts the changes."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.version = 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; the returned function unregisters it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        self.version += 1
        for listener in list(self._listeners):
            listener()
