"""``backproplab check``: grade a learner's own implementation of the homework.

The learner's code runs in child processes (``sandbox``, ``child``, ``procedures``); the
grader's process prepares the inputs (``parts``), judges what came back against
backproplab's own layers (``judge``, ``judge_layers``, ``judge_model``), names the likely
cause (``causes``) and writes the table, JSON or Gradescope results (``output``).
``predictions`` checks a CIFAR-10 ``predictions.csv`` as an autograder would.

This module imports nothing, so that the child process loads only what it needs.
"""
