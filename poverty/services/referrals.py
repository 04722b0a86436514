"""Poverty services: referrals (built by its helper)."""

HOOKS: list = []
