"""Billing sources, each a module that turns its data into the canonical objects."""
