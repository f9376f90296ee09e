"""Phase slots bound how many phases run at once in a workspace, across threads and processes alike, and a holder
that dies gives its slot back; a process is running only while that very process lives."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from package_builder.base.locks import slot


def most_at_once(directory, count: int, workers: int = 4) -> int:
    running, peak, guard = [0], [0], threading.Lock()

    def work():
        with slot(directory, count):
            with guard:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.15)
            with guard:
                running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return peak[0]


def test_one_slot_means_one_phase_at_a_time(tmp_path):
    assert most_at_once(tmp_path, 1) == 1


def test_two_slots_let_two_run_at_once(tmp_path):
    assert most_at_once(tmp_path, 2) == 2


def test_a_waiter_is_told_once_and_a_killed_holder_frees_its_slot(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from package_builder.base.locks import slot\n"
                f"with slot(__import__('pathlib').Path({str(tmp_path)!r}), 1):\n"
                "    print('held', flush=True); time.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    told = []
    threading.Timer(0.5, holder.kill).start()
    started = time.monotonic()
    with slot(tmp_path, 1, on_wait=lambda: told.append("waiting")):
        waited = time.monotonic() - started
    holder.wait(10)
    assert told == ["waiting"] and waited >= 0.4


def test_a_process_is_gone_once_it_ends_even_before_it_is_reaped(tmp_path):
    from package_builder.base.locks import process_gone, process_identity

    child = subprocess.Popen(["sleep", "30"])
    identity = process_identity(child.pid)
    assert identity and not process_gone(identity)
    child.kill()
    deadline = time.monotonic() + 10
    while process_identity(child.pid) is not None:  # a zombie until waited for: it is not running
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert process_gone(identity)
    child.wait()
    assert process_gone(identity)
    assert not process_gone(f"another-host:{child.pid}:1"), "a process on another machine is never proved gone"
    assert not process_gone("not an identity")


def test_a_checkpoints_process_is_running_only_while_that_very_process_lives(tmp_path):
    import os
    import subprocess

    from package_builder.base.locks import process_identity
    from package_builder.generation.state import GenerationState

    child = subprocess.Popen(["sleep", "30"])
    state = GenerationState(tmp_path / "gen-1.json", {"status": "in-progress"})
    state.data.update(runningPid=child.pid, runningProcess=process_identity(child.pid))
    assert state.running
    state.data["runningProcess"] = f"other-host:{child.pid}:1"
    assert not state.running, "same pid, another process (or machine)"
    child.kill()
    child.wait()
    state.data["runningProcess"] = None
    assert not state.running
    assert GenerationState(tmp_path / "x.json", {"status": "in-progress", "runningPid": os.getpid()}).running is False
