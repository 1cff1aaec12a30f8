"""Predictive models: lifetime value (BG/NBD, Gamma-Gamma), churn, next category.

Public API: :func:`load_evaluation` (the latest ``train`` evaluation document, or None).
"""

from shoplens.models.persistence import load_evaluation

__all__ = ["load_evaluation"]
