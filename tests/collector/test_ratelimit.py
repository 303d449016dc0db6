import time

from collector.ratelimit import RateLimiter


def test_zero_rate_never_limits() -> None:
    assert all(RateLimiter(0).allow("k", 1000) for _ in range(100))


def test_bucket_refills_over_time() -> None:
    limiter = RateLimiter(20)
    assert limiter.allow("k", 20)
    assert not limiter.allow("k", 1)
    assert limiter.allow("other", 1)  # separate buckets
    time.sleep(0.2)
    assert limiter.allow("k", 2)
