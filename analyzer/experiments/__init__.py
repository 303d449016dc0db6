"""Experiments: tailored content against a random holdout, per segment.

``definition`` reads an experiment document, ``assignment`` gives each person a variant, and
``stats`` holds the statistics the analysis reports.
"""
