"""Limits on failed sign-ins, per account and per client address (password guessing).

Each sign-in attempt is counted as a failure *before* the password is checked and the
count is taken back when the password was right, so a burst of parallel attempts
cannot slip past the limit while the first ones are being checked. Over either limit,
the password is not even checked: the site answers 429 with ``Retry-After``, the
number of seconds until the oldest failure of the window leaves it.

- per account (user name, case folded): a few failures, then the account waits; a
  right password clears its count. A wrong guess on an unknown name counts the same,
  so the answer says nothing about which names exist.
- per client address: more failures (an office behind one address shares them), and a
  right password does not clear them: one valid account must not reset the count of
  an address that guesses the passwords of others.

The counts live in the serving process (``communs serve`` runs one), bounded in size:
the least recently touched keys go first.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed sign-ins within ``seconds``."""

    failures: int
    seconds: float


ACCOUNT_LIMIT = Limit(failures=5, seconds=15 * 60)
ADDRESS_LIMIT = Limit(failures=20, seconds=15 * 60)
MAX_KEYS = 100_000


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt let through; give it back to :meth:`SignInThrottle.succeeded`."""

    account: str
    address: str
    at: float


class SignInThrottle:
    """Failed sign-ins per account and per address over a sliding window."""

    def __init__(
        self,
        account: Limit = ACCOUNT_LIMIT,
        address: Limit = ADDRESS_LIMIT,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.account = account
        self.address = address
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _recent(self, key: tuple[str, str], limit: Limit, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - limit.seconds:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _wait(self, key: tuple[str, str], limit: Limit, now: float) -> float:
        times = self._recent(key, limit, now)
        if len(times) < limit.failures:
            return 0.0
        # the attempt is allowed again when enough of the oldest failures have expired
        return times[len(times) - limit.failures] + limit.seconds - now

    def _add(self, key: tuple[str, str], at: float) -> None:
        times = self._failures.setdefault(key, deque())
        times.append(at)
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def attempt(self, username: str, address: str) -> Attempt | int:
        """Let one attempt through (counted as failed until :meth:`succeeded`), or say
        in how many whole seconds this account or address may try again."""
        now = self.clock()
        account = username.casefold()
        wait = max(
            self._wait(("account", account), self.account, now),
            self._wait(("address", address), self.address, now),
        )
        if wait > 0:
            return max(1, math.ceil(wait))
        self._add(("account", account), now)
        self._add(("address", address), now)
        times = self._failures[("account", account)]
        if len(times) == self.account.failures:
            log.warning("sign-in paused for account %r after %d failures", account, len(times))
        if len(self._failures[("address", address)]) == self.address.failures:
            log.warning("sign-in paused for address %s after repeated failures", address)
        return Attempt(account, address, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the account starts afresh; the address keeps its
        earlier failures but not this attempt."""
        self._failures.pop(("account", attempt.account), None)
        times = self._failures.get(("address", attempt.address))
        if times is not None:
            with contextlib.suppress(ValueError):
                times.remove(attempt.at)
            if not times:
                del self._failures[("address", attempt.address)]
