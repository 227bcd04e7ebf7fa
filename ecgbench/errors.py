"""The one exception type that the command line turns into a clean message and a non-zero exit."""


class EcgbenchError(Exception):
    """A problem the user can fix (bad file, unknown name, bad option). Its message is shown as is."""


class Terminated(KeyboardInterrupt):
    """SIGTERM during a run, raised like Ctrl-C's KeyboardInterrupt so that the same clean-up and record run."""

    signal_name = "SIGTERM"


def signal_name(exc: KeyboardInterrupt) -> str:
    return getattr(exc, "signal_name", "SIGINT")
