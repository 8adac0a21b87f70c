"""backproplab.nn — the NumPy neural-network library. It imports numpy and nothing else.

    from backproplab.nn import NeuralNetwork, SGD
    model = NeuralNetwork([{"name": "fully_connected", "n_out": 16, "activation": "relu"},
                           {"name": "fully_connected", "activation": "softmax"}],
                          optimizer=SGD(0.1, momentum=0.9), seed=0)
    history = model.fit(X, y, epochs=50, batch_size=16, validation_data=(Xv, yv))
"""

from .activations import initialize_activation
from .gradcheck import check_gradients, format_table, gradient_check_table
from .layers import (ActivationLayer, BatchNorm, BatchNorm1D, Conv2D, Dropout, Elman, Flatten, FullyConnected, Layer,
                     Pool2D, initialize_layer)
from .losses import L2, CrossEntropy, initialize_loss, one_hot
from .models import NeuralNetwork
from .optimizers import SGD, Adam, initialize_optimizer
from .schedulers import Constant, Cosine, Exponential, initialize_scheduler
from .training import History, batch_slices
from .weights import initialize_weights

__all__ = [
    "NeuralNetwork", "History", "batch_slices",
    "Layer", "FullyConnected", "Elman", "Conv2D", "Pool2D", "Flatten", "BatchNorm", "BatchNorm1D", "Dropout",
    "ActivationLayer", "initialize_layer", "initialize_activation", "initialize_weights",
    "CrossEntropy", "L2", "initialize_loss", "one_hot",
    "SGD", "Adam", "initialize_optimizer", "Constant", "Exponential", "Cosine", "initialize_scheduler",
    "check_gradients", "gradient_check_table", "format_table",
]
