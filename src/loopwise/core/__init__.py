"""The shared kernel: settings, app database, accounts and access, audit log, logging.

It stays small on purpose. Product areas build on it; it never imports them.
"""
