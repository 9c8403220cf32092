"""Who makes an operator's change, as the audit trail names them: the OS user running the
command line, or, through the admin API, the client that called it."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

from authority.events import ActorKind


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str

    @classmethod
    def os_user(cls) -> Actor:
        """The operator at the command line: their login name, or their uid when the system
        knows no name for it (a container's arbitrary uid)."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = f"uid {os.getuid()}"
        return cls(ActorKind.OPERATOR, name)
