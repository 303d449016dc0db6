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


def test_a_batch_larger_than_the_burst_passes_once_the_bucket_is_full() -> None:
    """An SDK's 100-event batch against a bucket of 50 is admitted when the bucket is full and
    leaves it in debt, so the average rate holds and the batch is never refused for ever."""
    limiter = RateLimiter(50, burst=50)
    assert limiter.allow("k", 100)
    refused = limiter.check("k", 100)
    assert not refused.allowed
    # 50 tokens of debt and a full bucket of 50 to wait for: two seconds at 50/s
    assert 1.9 < refused.retry_after <= 2.0
    assert refused.retry_after_seconds == 2


def test_retry_after_says_when_the_same_request_would_pass() -> None:
    limiter = RateLimiter(100, burst=100)
    assert limiter.allow("k", 100)
    verdict = limiter.check("k", 30)
    assert not verdict.allowed and 0.25 < verdict.retry_after <= 0.3
    assert verdict.retry_after_seconds == 1  # never 0: SDKs read 0 as "now"
    time.sleep(verdict.retry_after + 0.02)
    assert limiter.allow("k", 30)


def test_burst_holds_more_than_one_second_of_rate() -> None:
    limiter = RateLimiter(10, burst=40)
    assert limiter.allow("k", 40)
    assert not limiter.allow("k", 1)
