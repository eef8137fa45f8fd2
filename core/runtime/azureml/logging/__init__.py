"""Workbench's ``azureml.logging``: ``get_azureml_logger().log(name, value)`` goes to deckrun."""

import deckrun

__all__ = ["get_azureml_logger"]


class _AzureMLLogger:
    def log(self, name, value, description=""):
        deckrun.log(name, value, description)

    def get_metrics(self):
        return {}


_logger = _AzureMLLogger()


def get_azureml_logger():
    return _logger
