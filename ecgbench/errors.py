"""The one exception type that the command line turns into a clean message and a non-zero exit."""


class EcgbenchError(Exception):
    """A problem the user can fix (bad file, unknown name, bad option). Its message is shown as is."""
