"""The web shell: app factory, dependencies, sign-in, shared layout and static assets.

Product areas bring their own routers and templates; the shell mounts them from the list in
``areas.py`` and renders them inside one layout.
"""
