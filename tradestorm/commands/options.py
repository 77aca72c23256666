"""Options several commands share, defined once."""

from __future__ import annotations

from pathlib import Path

import click

#: The local target's state folder; resolved by ``tradestorm.local.state.resolve_state_dir``.
#: A file is a usage error naming the option (it used to end in a traceback in some commands).
state_dir_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Local target state folder (default: $TRADESTORM_STATE_DIR, else ./.tradestorm/local).")
