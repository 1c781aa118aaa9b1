"""The demo business: a simulated SaaS company whose data fills every screen.

This area owns the simulation (``population.Business``: one population drawn from a seed),
the generators that turn it into data for each product area, and ``facade.load_demo``,
behind ``loopwise demo``. Data enters only through the owning areas' public write paths
(events through ``loopwise.ingest.facade.capture``), never by inserting rows directly, so
the demo exercises the same code as real traffic. See README.md for adding a generator.
"""

from loopwise.demo.contracts import DemoSummary
from loopwise.demo.facade import load_demo

__all__ = ["DemoSummary", "load_demo"]
