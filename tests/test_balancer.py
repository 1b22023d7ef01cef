"""EndpointPool: least outstanding requests, per-run affinity, counts released on errors."""

import anyio
import pytest

from agentkit.llm.balancer import EndpointPool

URLS = ["http://a:8000/v1", "http://a:8001/v1", "http://a:8002/v1"]


@pytest.mark.anyio
async def test_new_requests_go_to_the_least_busy_replica():
    pool = EndpointPool(URLS)
    async with pool.acquire() as first, pool.acquire() as second, pool.acquire() as third:
        assert {first, second, third} == set(URLS)
        async with pool.acquire() as fourth:
            assert pool.outstanding[fourth] == 2
    assert set(pool.outstanding.values()) == {0}


@pytest.mark.anyio
async def test_a_run_stays_on_its_replica_even_when_it_is_busier():
    pool = EndpointPool(URLS)
    async with pool.acquire("run-1") as home:
        pass
    hold = anyio.Event()
    async with anyio.create_task_group() as tg:
        for _ in range(3):

            async def busy():
                async with pool.acquire("run-1"):
                    await hold.wait()

            tg.start_soon(busy)
        await anyio.sleep(0.01)
        assert pool.outstanding[home] == 3
        async with pool.acquire("run-1") as again, pool.acquire("run-2") as other:
            assert again == home
            assert other != home
        hold.set()


@pytest.mark.anyio
async def test_outstanding_count_is_released_when_the_request_fails():
    pool = EndpointPool(URLS[:1])
    with pytest.raises(RuntimeError):
        async with pool.acquire("x"):
            raise RuntimeError("boom")
    assert pool.outstanding[URLS[0]] == 0 and pool.served[URLS[0]] == 1


def test_affinities_are_bounded_and_forgettable():
    pool = EndpointPool(URLS, max_affinities=2)
    pool.pick("a")
    pool.pick("b")
    pool.pick("c")
    assert "a" not in pool._affinity and list(pool._affinity) == ["b", "c"]
    pool.forget("b")
    assert list(pool._affinity) == ["c"]


def test_bad_pools_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        EndpointPool([])
    with pytest.raises(ValueError, match="same base URL twice"):
        EndpointPool(["http://a/v1", "http://a/v1/"])
