"""Poverty services: verification (built by its helper)."""

HOOKS: list = []
