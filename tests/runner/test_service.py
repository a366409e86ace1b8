"""The runner service over real HTTP on loopback: same JSON as in-process, secret enforced."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from runner.dispatch import RunQueue
from runner.errors import RunnerBusy, SandboxUnavailable, SnippetError
from runner.limits import Limits
from runner.result import RunResult
from runner.sandbox import DEFAULT_PYTHON, Sandbox
from runner.service import RemoteRunner, make_server

SECRET = "a-shared-secret-for-tests"
PYTHON = os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON)


class HeldSandbox(Sandbox):
    """The real sandbox, except that a run of `held_code` waits at its door until the test
    lets it in, so that runs overlap for as long as the test wants and no longer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.held_code: str | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.users: list[str] = []

    def run(self, code, lang="python", limits=None, *, user="anonymous") -> RunResult:
        self.users.append(user)
        if code == self.held_code:
            self.arrived.set()
            assert self.release.wait(timeout=30), "the test never let the held run in"
        return super().run(code, lang, limits, user=user)


@pytest.fixture(scope="module")
def service():
    box = HeldSandbox(Limits.load().with_(wall_seconds=5), python=PYTHON, pool_size=0)
    server = make_server(RunQueue(box, max_running=2, max_waiting=0), SECRET, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", box
    server.shutdown()
    server.server_close()
    box.close()


@pytest.fixture
def hold(service):
    """Hold the runs of one snippet inside the service until `box.release` is set."""
    _, box = service

    def held(code: str) -> HeldSandbox:
        box.held_code = code
        box.arrived.clear()
        box.release.clear()
        box.users.clear()
        return box

    yield held
    box.release.set()
    box.held_code = None


def test_remote_run_matches_the_in_process_result(service):
    url, box = service
    code = "import sys\nprint('out')\nprint('err', file=sys.stderr)\nopen('a.txt','w').write('x')"
    remote = RemoteRunner(url, SECRET).run(code)
    local = box.run(code)
    assert remote.as_json() | {"duration_ms": 0} == local.as_json() | {"duration_ms": 0}
    assert [f.path for f in remote.files] == ["a.txt"]


def test_wrong_secret_is_refused(service):
    url, _ = service
    with pytest.raises(SandboxUnavailable, match="wrong or missing runner secret"):
        RemoteRunner(url, "not-the-secret-at-all").run("print(1)")


def test_bad_snippet_maps_to_the_same_error(service):
    url, _ = service
    with pytest.raises(SnippetError, match="empty"):
        RemoteRunner(url, SECRET).run("   ")


def test_unreachable_service_turns_running_off(service):
    with pytest.raises(SandboxUnavailable, match="cannot be reached"):
        RemoteRunner("http://127.0.0.1:9", SECRET, timeout=2).run("print(1)")


def test_two_runs_of_one_user_at_once_one_is_busy(service, hold):
    url, _ = service
    runner = RemoteRunner(url, SECRET)
    box = hold("print('first')")
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(runner.run, "print('first')", user="ann")
        try:
            assert box.arrived.wait(timeout=30)
            with pytest.raises(RunnerBusy) as refused:
                runner.run("print('second')", user="ann")
        finally:
            box.release.set()
        assert first.result(timeout=30).stdout == "first\n"
    assert str(refused.value) == (
        "runner service: you already have a run going: wait for its result first"
    )


def test_two_users_run_at_once_through_the_service_and_both_get_their_output(service, hold):
    url, _ = service
    # The bot's side, as the tutor builds it: its own queue in front of the service's client.
    bot_side = RunQueue(RemoteRunner(url, SECRET), max_running=2, max_waiting=0)
    box = hold("print('ann')")
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(bot_side.run, "ann", "print('ann')")
        try:
            assert box.arrived.wait(timeout=30)
            # ann's run is still inside the service: bob's runs beside it, not refused as busy.
            assert bot_side.run("bob", "print('bob')").stdout == "bob\n"
            assert not first.done()
        finally:
            box.release.set()
        assert first.result(timeout=30).stdout == "ann\n"
    assert sorted(box.users) == ["ann", "bob"]


def test_a_bad_snippet_is_refused_on_the_bots_side_without_a_request():
    # Port 9 (discard) answers nothing: a request would turn into SandboxUnavailable.
    bot_side = RunQueue(RemoteRunner("http://127.0.0.1:9", SECRET, timeout=2))
    with pytest.raises(SnippetError, match="empty"):
        bot_side.run("ann", "   ")


def test_service_never_starts_without_a_secret():
    box = Sandbox(python=PYTHON, pool_size=0)
    with pytest.raises(SandboxUnavailable, match="shared secret"):
        make_server(RunQueue(box), "", "127.0.0.1", 0)
