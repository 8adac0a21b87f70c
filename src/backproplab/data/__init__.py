"""backproplab.data — format readers, data discovery, download, splits and the in-memory data set.

Imports numpy and the standard library only.
"""
