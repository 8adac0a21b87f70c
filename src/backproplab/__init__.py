"""backproplab: a from-scratch NumPy neural-network library with derived, tested backward
passes, and training pipelines for Iris, Fashion-MNIST and CIFAR-10."""

__version__ = "0.1.0"
