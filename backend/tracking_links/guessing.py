"""Rate limit on guessing tracking tokens.

A tracking token (~190 bits) is the only key to an order's page, so nobody can guess one;
the limit makes sure nobody can try. Each unknown token a client sends takes one of
``burst`` allowances, which come back at ``per_minute``; a client with none left is refused
every tracking look-up (``429``, with the seconds to wait) until one is back, whatever token
it sends, so a refusal tells nothing about the token. Known tokens take nothing: a customer
reloading their page, or a family sharing one link behind one address, is never limited.

The allowances live in a ``backend.ratelimit.Limiter``: in this process, or in Redis (shared
by every worker) when ``REDIS_URL`` is set.
"""

from backend.ratelimit.buckets import TokenBuckets

# The in-memory buckets, under the name this module's tests know them by.
GuessLimiter = TokenBuckets
