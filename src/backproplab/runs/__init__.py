"""backproplab.runs — run folders, atomic writes, metrics, plots, progress and checkpoints,
shared by every pipeline."""

from .folder import RunExistsError, RunFolder, atomic_path, read_metrics, write_json

__all__ = ["RunExistsError", "RunFolder", "atomic_path", "read_metrics", "write_json"]
