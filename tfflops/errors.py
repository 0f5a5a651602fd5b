"""The one exception base class for everything a user can cause."""

from __future__ import annotations

import re
from collections.abc import Mapping

# An argument a message names, in backticks as the Python API spells it: `input_shapes`,
# `tfprof=False` (an rst ``literal`` is not one).
ARGUMENT = re.compile(r"(?<!`)`(\w+(?:=\w+)?)`(?!`)")


class TfflopsError(Exception):
    """A bad file, node name, argument or shape: the message names the culprit.

    Arguments are named as the Python API spells them, in backticks ("`input_shapes` x:
    rank 3 given"); the CLI puts its flags in their place (``spelled``), prints the
    message as one line and exits with code 2.
    """

    @property
    def argument(self) -> str | None:
        """The argument at fault: the first one the message names (None if it names none)."""
        found = ARGUMENT.search(str(self))
        return found[1].partition("=")[0] if found else None

    def spelled(self, names: Mapping[str, str]) -> str:
        """The message with each argument it names replaced by ``names[argument]``."""
        return ARGUMENT.sub(lambda m: names.get(m[1], m[0]), str(self))
