"""The runner service over real HTTP on loopback: same JSON as in-process, secret enforced."""

from __future__ import annotations

import os
import threading

import pytest

from runner.dispatch import RunQueue
from runner.errors import RunnerBusy, SandboxUnavailable, SnippetError
from runner.sandbox import DEFAULT_PYTHON, Limits, Sandbox
from runner.service import RemoteRunner, make_server

SECRET = "a-shared-secret-for-tests"
PYTHON = os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON)


@pytest.fixture(scope="module")
def service():
    box = Sandbox(Limits.load().with_(wall_seconds=5), python=PYTHON, pool_size=0)
    server = make_server(RunQueue(box, max_running=2, max_waiting=0), SECRET, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", box
    server.shutdown()
    server.server_close()
    box.close()


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


def test_two_runs_of_one_user_at_once_one_is_busy(service):
    url, _ = service
    runner = RemoteRunner(url, SECRET)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            runner.run("import time\ntime.sleep(1.5)\nprint('done')", user="ann")
            outcomes.append("ran")
        except RunnerBusy as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [
        "ran",
        "runner service: you already have a run going: wait for its result first",
    ]


def test_service_never_starts_without_a_secret():
    box = Sandbox(python=PYTHON, pool_size=0)
    with pytest.raises(SandboxUnavailable, match="shared secret"):
        make_server(RunQueue(box), "", "127.0.0.1", 0)
