"""The progress board's plain mode: a line per running call each period, none after the last call ends, and no
busy loop when one call ends just as another starts."""

from __future__ import annotations

import threading
import time

from package_builder.generation.progress import ProgressBoard


def test_plain_lines_come_once_a_period_per_running_call_and_stop_with_the_last():
    lines = []
    board = ProgressBoard(every_seconds=0.2, live=False, write=lines.append)
    with board.watching("[a] phase 04/15 CORE_IMPLEMENTATION", 16000) as watch:
        watch.streamed("x" * 350)
        time.sleep(0.5)
    count = len(lines)
    time.sleep(0.4)

    assert 1 <= count <= 4 and len(lines) == count
    assert lines[-1].startswith("[a] phase 04/15 CORE_IMPLEMENTATION  answering: 0 s, ≈100 of 16,000 output tokens")


def test_a_wake_left_by_a_call_that_ended_as_another_started_does_not_make_a_busy_loop():
    lines = []
    board = ProgressBoard(every_seconds=0.2, live=False, write=lines.append)
    with board.watching("[b] second", 100):
        board._wake.set()  # what the last call's end leaves when a new call slips in before the thread wakes
        time.sleep(0.5)

    assert len(lines) < 10, f"{len(lines)} lines in 0.5 s: a busy loop"


def test_the_last_call_to_end_does_not_wait_for_a_board_another_call_took_over():
    board = ProgressBoard(every_seconds=10, live=False, write=lambda line: None)
    second_started, ended = threading.Event(), threading.Event()

    def second():
        with board.watching("[b] second", 100):
            second_started.set()
            ended.wait(5)

    with board.watching("[a] first", 100):
        thread = threading.Thread(target=second)
    thread.start()
    second_started.wait(5)
    started = time.monotonic()
    with board.watching("[c] third", 100):
        pass
    waited = time.monotonic() - started
    ended.set()
    thread.join()

    assert waited < 1.0, "the third call's end did not wait on the board's thread"
