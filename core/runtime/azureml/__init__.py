"""Stand-in for the ``azureml`` package of Azure ML Workbench, so old scripts run unchanged.

Only ``azureml.logging`` is provided; importing any other ``azureml.*`` module (Workbench's
``azureml.dataprep``, the later SDK's ``azureml.core``) fails with a message naming deck rather
than a bare "No module named".
"""

import sys


class _Unprovided:
    """The last import finder: claims nothing but ``azureml.*`` modules no one else found."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname.startswith(__name__ + "."):
            raise ModuleNotFoundError(
                "deck: %s is a Workbench/Azure ML module that deck does not provide (deck's "
                "azureml package has azureml.logging only)" % fullname, name=fullname)
        return None


if not any(isinstance(f, type) and f.__name__ == "_Unprovided" for f in sys.meta_path):
    sys.meta_path.append(_Unprovided)
