"""backproplab.data — format readers, data discovery, download, splits and the in-memory data set.

Imports numpy and the standard library only.
"""


def datasets() -> dict:
    """The data sets ``backproplab download`` fetches: name → its reader module (with
    ``fetch_to_cache``). Pipelines name the ones they read (``Pipeline.datasets``)."""
    from . import cifar10, fashion_mnist

    return {"fashion": fashion_mnist, "cifar": cifar10}
