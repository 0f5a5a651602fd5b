"""The one exception base class for everything a user can cause."""


class TfflopsError(Exception):
    """A bad file, node name, option or shape: the message names the culprit.

    The CLI prints the message as one line and exits with code 2.
    """
