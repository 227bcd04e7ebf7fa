"""The ground helpers every layer stands on: errors, files, thread budgets, progress, parameters, metrics.

Nothing here imports from another ecgbench package (tests/test_layers.py holds the rule).
"""
