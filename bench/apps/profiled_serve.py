"""`fastfn serve APP` under cProfile, switched on by SIGUSR1 and written out by SIGUSR2
to the file named by PROFILE_OUT (so start-up and warm-up stay out of the profile)."""

from __future__ import annotations

import cProfile
import os
import signal
import sys

profile = cProfile.Profile()


def start(_signum: int, _frame: object) -> None:
    profile.enable()


def dump(_signum: int, _frame: object) -> None:
    profile.disable()
    profile.dump_stats(os.environ["PROFILE_OUT"])


signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, dump)
sys.argv = ["fastfn", "serve", sys.argv[1]]

from fastfn._entry import main  # noqa: E402

main()
