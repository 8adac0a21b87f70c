"""The training engines behind ``runs.fit.fit_epochs``: the NumPy library's trainer
(``numpy_engine``) and PyTorch's (``torch_engine``), with PyTorch's set-up for a run
(``torch_setup``: device, threads, seed, the model placed) and data parallelism under
torchrun (``distributed``). Only the PyTorch modules import torch.
"""
