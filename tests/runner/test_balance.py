"""Several runner hosts as one: runs spread over the hosts that are up, a host that is down is
skipped and tried again after its back-off, and with all down the user gets one line."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.app.settings import Settings
from bot.app.wiring import build_runner
from runner.balance import RemoteRunners
from runner.dispatch import RunQueue
from runner.errors import RunnerError, ServiceUnreachable
from runner.limits import Limits, check_snippet
from runner.result import RunResult
from runner.service import make_server

SECRET = "a-shared-secret-for-tests"


class NamedSandbox:
    """A stand-in sandbox that answers with its host's name; a run of `held_code` waits at
    its door until the test lets it in."""

    limits = Limits.load()

    def __init__(self, name: str) -> None:
        self.name = name
        self.held_code: str | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()

    def validate(self, code: str, lang: str) -> None:
        check_snippet(code, lang)

    def run(self, code: str, lang: str = "python", *, user: str = "anonymous") -> RunResult:
        if code == self.held_code:
            self.arrived.set()
            assert self.release.wait(timeout=30), "the test never let the held run in"
        return RunResult(self.name, "", 0, None, False, False, 1.0)

    def close(self) -> None:
        pass


class Host:
    """A real runner service on loopback that can be stopped and started again on its port."""

    def __init__(self, name: str) -> None:
        self.sandbox = NamedSandbox(name)
        self.port = 0
        self.server = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        queue = RunQueue(self.sandbox, max_running=4, max_waiting=0)
        self.server = make_server(queue, SECRET, "127.0.0.1", self.port)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None


class Clock:
    """A clock the test moves by hand, for the back-off."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hosts():
    a, b = Host("a"), Host("b")
    yield a, b
    for host in (a, b):
        host.sandbox.release.set()
        host.stop()


def test_runs_spread_over_hosts_that_are_up(hosts):
    a, b = hosts
    runners = RemoteRunners([a.url, b.url], SECRET)
    landed = [runners.run("print(1)").stdout for _ in range(4)]
    assert landed == ["a", "b", "a", "b"]


def test_the_least_busy_host_takes_the_next_runs(hosts):
    a, b = hosts
    runners = RemoteRunners([a.url, b.url], SECRET)
    a.sandbox.held_code = "held"
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(runners.run, "held", user="ann")
        try:
            assert a.sandbox.arrived.wait(timeout=30)
            # a is busy with ann's run: both next runs go to b, whoever's turn it is.
            landed = [runners.run("print(1)", user="bob").stdout for _ in range(2)]
        finally:
            a.sandbox.release.set()
        assert held.result(timeout=30).stdout == "a"
    assert landed == ["b", "b"]


def test_runs_land_on_the_live_host_and_the_other_is_tried_again_after_its_back_off(hosts):
    a, b = hosts
    b.stop()
    clock = Clock()
    runners = RemoteRunners([a.url, b.url], SECRET, backoff=2.0, clock=clock)
    assert [runners.run("print(1)").stdout for _ in range(4)] == ["a"] * 4

    b.start()  # back on its port, but resting: not tried before the back-off ends
    assert [runners.run("print(1)").stdout for _ in range(2)] == ["a", "a"]

    clock.now += 2.0
    assert sorted(runners.run("print(1)").stdout for _ in range(2)) == ["a", "b"]


def test_a_host_that_stays_down_rests_longer_each_time(hosts):
    a, b = hosts
    b.stop()
    clock = Clock()
    runners = RemoteRunners([b.url, a.url], SECRET, backoff=2.0, clock=clock)
    assert runners.run("print(1)").stdout == "a"  # b refused: resting for 2 s
    clock.now += 2.0
    # Two runs, so that b's turn to be tried first comes: refused again, resting for 4 s.
    assert [runners.run("print(1)").stdout for _ in range(2)] == ["a", "a"]
    b.start()
    clock.now += 2.0
    assert [runners.run("print(1)").stdout for _ in range(2)] == ["a", "a"]
    clock.now += 2.0
    assert sorted(runners.run("print(1)").stdout for _ in range(2)) == ["a", "b"]


def test_all_hosts_down_is_one_line_for_the_user(hosts):
    a, b = hosts
    a.stop()
    b.stop()
    runners = RemoteRunners([a.url, b.url], SECRET, connect_timeout=2)
    for _ in range(2):  # the second time both are resting, and still tried
        with pytest.raises(ServiceUnreachable) as refused:
            runners.run("print(1)")
        message = str(refused.value)
        assert isinstance(refused.value, RunnerError)
        assert message.startswith("running code is off: none of the 2 runner services")
        assert "\n" not in message


def test_the_setting_takes_one_url_or_a_comma_separated_list(hosts):
    a, b = hosts
    one = build_runner(Settings(runner_url=a.url, runner_secret=SECRET))
    assert one.run("print(1)").stdout == "a"
    both = build_runner(Settings(runner_url=f" {a.url} , {b.url},", runner_secret=SECRET))
    assert sorted(both.run("print(1)").stdout for _ in range(2)) == ["a", "b"]
