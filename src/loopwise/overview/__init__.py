"""The project overview: the dashboard a team opens first.

Owns the headline numbers (events, active people, top events, pages and sources) over a
chosen period. It reads the warehouse only; the deeper analyses belong to the product area.
"""
