"""Poverty services: officials (built by its helper)."""

HOOKS: list = []
