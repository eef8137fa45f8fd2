"""Workbench's ``azureml.logging``, as its logging API reference documents it, on deckrun.

``get_azureml_logger()`` gives the logger; ``logger.log(name, value)`` records a metric (a
number, a string, a boolean or a list) and returns an object whose ``.wait()`` works (the value
is written already); ``logger.upload(name, value)`` keeps a file with the run's artifacts (text
or bytes as its content, or a path to copy). Anything else Workbench's package had is refused
with a message that names deck and the call, instead of an AttributeError about a stand-in.
"""

import deckrun

__all__ = ["get_azureml_logger"]

_SUPPORTED = "get_azureml_logger().log(name, value), .log(...).wait(), .upload(name, value)"


def _unsupported(call):
    return ("deck: %s is not supported by deck's azureml.logging (Workbench's logging API is "
            "provided as its reference documents it: %s; the deckrun module does the same)"
            % (call, _SUPPORTED))


class _AzureMLLogger:
    """The object ``get_azureml_logger()`` returns."""

    def log(self, name, value, description=""):
        return deckrun.log(name, value, description)

    def upload(self, name, value):
        return deckrun.upload(name, value)

    def get_metrics(self):
        return {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(_unsupported("logger.%s" % name))


_logger = _AzureMLLogger()


def get_azureml_logger(*args, **kwargs):
    return _logger


def __getattr__(name):
    # ``from azureml.logging import X`` of something Workbench had but deck does not: say so.
    if name.startswith("__"):
        raise AttributeError(name)
    raise ImportError(_unsupported("azureml.logging.%s" % name), name=__name__)
