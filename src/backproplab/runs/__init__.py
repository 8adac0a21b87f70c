"""backproplab.runs — what every pipeline shares to make and read back a run: run folders,
atomic writes and bounded readers, the metrics log, the one training loop (``fit``),
checkpoints, plots and progress, the machine a run records (``environment``), the values
a finished run recorded as the report reads them (``values``), and the record of an
``all`` job (``job``)."""
