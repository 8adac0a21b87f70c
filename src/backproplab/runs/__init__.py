"""backproplab.runs — run folders, atomic writes, the metrics log, the one training loop
(``fit``), checkpoints, plots and progress, shared by every pipeline."""
