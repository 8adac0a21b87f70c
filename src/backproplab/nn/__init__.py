"""backproplab.nn — the NumPy neural-network library. It imports numpy and nothing else."""
