"""Points at which a test makes the process die, as a kill -9 would.

`VM_CRASH_AT` (tests only; ignored with `VM_ENV=prod`) names steps, comma-separated:
when the process reaches one, it sends itself SIGKILL, leaving whatever it had not
committed. The kill tests restart it without the variable and check that nothing was
lost or done twice. Read once, when the process starts.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)

# The steps of a change asked of the network (service/provisioning_saga.py).
BEFORE_NETWORK = "before_network"  # the intent committed, the network not asked yet
AFTER_NETWORK = "after_network"  # the network answered, nothing of it recorded yet
BEFORE_ANSWER_COMMIT = "before_answer_commit"  # the answer written, not committed

_WANTED = os.environ.get("VM_CRASH_AT", "") if os.environ.get("VM_ENV") != "prod" else ""
_STEPS = frozenset(s.strip() for s in _WANTED.split(",") if s.strip())


def crash_point(step: str) -> None:
    if step in _STEPS:
        log.warning("dying at a crash point", extra={"step": step})
        os.kill(os.getpid(), signal.SIGKILL)
