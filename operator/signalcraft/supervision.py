"""Background tasks that restart themselves, and a liveness verdict a probe can serve.

A long-running loop (the webhook's forwarder, the API's ticket worker) must not stop on the first exception nobody
foresaw: the supervisor restarts it with exponential backoff and counts every restart. Restarting is not enough when
a task is stuck (an await that never returns) or crashes on every turn: each task reports progress with
`Progress.beat()` after every turn of its loop (work done, or a failure it handled), and the task is *stalled* once
work is due and no beat came for `stall_after` seconds. A liveness probe answering from `Supervisor.problems()` makes
Kubernetes restart the process then, which is the remedy left.

This module is neutral ground: it imports nothing of SignalCraft, so every program can use it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("signalcraft.supervision")

Clock = Callable[[], float]


class Progress:
    """Handed to a supervised task: call `beat()` after each turn of its loop."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.last = clock()
        self.beats = 0

    def beat(self) -> None:
        self.last = self._clock()
        self.beats += 1

    def silent_for(self) -> float:
        return max(0.0, self._clock() - self.last)


def failure_outline(exc: BaseException) -> str:
    """An exception for a log line: its type and where it was raised (file, line, function, source) for each exception
    of the chain, without any message. Messages and arguments can carry what a request held (keys, tokens,
    credentials, a vendor's reply); the place in the code is what finding the bug needs."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 5:
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        parts.append(f"{type(current).__module__}.{type(current).__qualname__}\n{frames}".rstrip())
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\n  caused by ".join(parts)


@dataclass
class SupervisedTask:
    name: str
    run: Callable[[Progress], Awaitable[None]]
    work_due: Callable[[], bool] | None
    """Whether work is waiting; a stall counts only then (None: always, the task must beat regularly)."""
    progress: Progress
    restarts: int = 0
    last_error: str = ""
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.runner is not None and not self.runner.done()


class Supervisor:
    """Runs tasks, restarts each after an unexpected exception (or return), and judges their liveness."""

    def __init__(
        self,
        *,
        stall_after: float = 120.0,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        on_restart: Callable[[str], None] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """`on_restart(name)` is called on every restart (count it in a metric)."""
        self.stall_after = stall_after
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.on_restart = on_restart
        self.clock = clock
        self.tasks: dict[str, SupervisedTask] = {}
        self._started = False

    def add(
        self, name: str, run: Callable[[Progress], Awaitable[None]], *, work_due: Callable[[], bool] | None = None
    ) -> SupervisedTask:
        if name in self.tasks:
            raise ValueError(f"a task named {name!r} is supervised already")
        task = SupervisedTask(name, run, work_due, Progress(self.clock))
        self.tasks[name] = task
        if self._started:
            task.runner = asyncio.create_task(self._keep_running(task), name=f"supervised-{name}")
        return task

    async def start(self) -> None:
        self._started = True
        for task in self.tasks.values():
            if not task.running:
                task.runner = asyncio.create_task(self._keep_running(task), name=f"supervised-{task.name}")

    async def stop(self) -> None:
        self._started = False
        runners = [task.runner for task in self.tasks.values() if task.runner is not None]
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)

    async def _keep_running(self, task: SupervisedTask) -> None:
        failures = 0
        while True:
            beats = task.progress.beats
            try:
                await task.run(task.progress)
                task.last_error = "returned"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the point of a supervisor: whatever escaped, run again
                task.last_error = type(exc).__name__
                log.error("background task %s failed; restarting it: %s", task.name, failure_outline(exc))
            # A run that made progress before failing starts the backoff over; a crash loop backs off further.
            failures = 1 if task.progress.beats != beats else failures + 1
            task.restarts += 1
            if self.on_restart is not None:
                self.on_restart(task.name)
            delay = min(self.max_backoff, self.first_backoff * 2.0 ** min(failures - 1, 16))
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not secrecy

    def problems(self) -> list[str]:
        """Why the process is not alive: tasks not running, or stalled while work is due. Empty when healthy."""
        found = []
        for task in self.tasks.values():
            if self._started and not task.running:
                found.append(f"{task.name}: not running")
                continue
            due = task.work_due() if task.work_due is not None else True
            silent = task.progress.silent_for()
            if due and silent > self.stall_after:
                error = f" (last error: {task.last_error})" if task.last_error else ""
                found.append(f"{task.name}: no progress for {silent:.0f}s while work is due{error}")
        return found


__all__ = ["Progress", "SupervisedTask", "Supervisor", "failure_outline"]
