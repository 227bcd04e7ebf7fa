"""The one exception type that the command line turns into a clean message and a non-zero exit."""


class EcgbenchError(Exception):
    """A problem the user can fix (bad file, unknown name, bad option). Its message is shown as is."""


def blame_the_model(exc: BaseException) -> BaseException:
    """Mark ``exc``, raised while a model fitted or predicted, as that model's failure: its cell fails (error.txt,
    a failure record), the run goes on. An EcgbenchError from the model's own code or from the checks of its own
    output (NaN probabilities, wrong shape) says nothing about the user's input, so it must not stop the run."""
    try:
        exc.model_failure = True
    except (AttributeError, TypeError):  # an exception type without attributes: not an EcgbenchError, so it
        pass  # fails its cell anyway (executors.attempt)
    return exc


def is_model_failure(exc: BaseException) -> bool:
    return bool(getattr(exc, "model_failure", False))


class Terminated(KeyboardInterrupt):
    """SIGTERM during a run, raised like Ctrl-C's KeyboardInterrupt so that the same clean-up and record run."""

    signal_name = "SIGTERM"


def signal_name(exc: KeyboardInterrupt) -> str:
    return getattr(exc, "signal_name", "SIGINT")
