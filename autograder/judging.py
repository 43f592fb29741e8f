"""Judging records beside the kernels, in a process forked from the zygote.

A worker that runs notebooks judges what `grade` recorded in each sandboxed kernel
(`autograder.engine.api.judge_record`). Judging needs torch, and importing it costs a
fresh process about 4 s of CPU, while the zygote has imported it already. So the zygote
also listens on `judge.sock` in its jobs folder (no kernel can see that folder): for each
connection it forks a judge, which gives up root and every capability and then judges the
records it is sent, one JSON line each way, until the connection closes:

    {"stub": S, "points": P, "record": {...}, "sources": [...]}  -> {"text": T, "points": E}
                                                                  -> {"error": "why"}

Its answers are those of `judge_record` in the worker's own process: same code, same cases,
same float64 reference. A process without a zygote (cold kernels, a Dask worker before its
first kernel) or whose judge is gone judges locally.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

SOCKET_NAME = "judge.sock"
ANSWER_TIMEOUT_S = 300.0


class JudgeUnavailable(OSError):
    """The judge process could not be reached, or went away without answering."""


class RemoteJudgeError(ValueError):
    """The judge refused a record (malformed: the cell scores 0, with this message)."""


def serve(connection: socket.socket) -> None:
    """Answer judging requests on `connection` until it closes (in the forked judge)."""
    from autograder.engine.api import judge_record

    with connection, connection.makefile("rb") as requests, connection.makefile("wb") as answers:
        for line in requests:
            try:
                request = json.loads(line)
                text, points = judge_record(
                    request["stub"], float(request["points"]), request["record"], request["sources"]
                )
                answer: dict[str, Any] = {"text": text, "points": points}
            except Exception as exc:  # noqa: BLE001 - told to the worker, which scores the cell 0
                answer = {"error": str(exc)}
            answers.write(json.dumps(answer).encode() + b"\n")
            answers.flush()


class RemoteJudge:
    """A connection to a zygote's judge; one request at a time."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._lock = threading.Lock()
        self._connection: socket.socket | None = None
        self._answers: Any = None

    def judge(self, stub: str, points: float, record: Any, sources: list[str]) -> tuple[str, float]:
        request = json.dumps({"stub": stub, "points": points, "record": record, "sources": sources})
        with self._lock:
            try:
                if self._connection is None:
                    self._connect()
                assert self._connection is not None
                self._connection.sendall(request.encode() + b"\n")
                line = self._answers.readline()
            except OSError as exc:
                self.close()
                raise JudgeUnavailable(f"the judge at {self.address} did not answer: {exc}") from None
            if not line:
                self.close()
                raise JudgeUnavailable(f"the judge at {self.address} went away")
        answer = json.loads(line)
        if "error" in answer:
            raise RemoteJudgeError(answer["error"])
        return answer["text"], float(answer["points"])

    def _connect(self) -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(ANSWER_TIMEOUT_S)
        connection.connect(self.address)
        self._connection, self._answers = connection, connection.makefile("rb")

    def close(self) -> None:
        if self._connection is not None:
            self._answers.close()
            self._connection.close()
        self._connection = self._answers = None


_judges: dict[str, RemoteJudge] = {}
_judges_lock = threading.Lock()


def judge_record(stub: str, points: float, record: Any, sources: list[str]) -> tuple[str, float]:
    """`autograder.engine.api.judge_record`, by the judge of this process's zygote when it
    has one (see the module doc), else here."""
    from autograder.pool import zygote_folder

    folder = zygote_folder()
    address = None if folder is None else str(folder / SOCKET_NAME)
    if address is not None and Path(address).exists():
        with _judges_lock:
            remote = _judges.setdefault(address, RemoteJudge(address))
        try:
            return remote.judge(stub, points, record, sources)
        except JudgeUnavailable:
            pass
    from autograder.engine.api import judge_record as judge_here

    return judge_here(stub, points, record, sources)
