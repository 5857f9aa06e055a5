"""The browser explorer: Mesa's SolaraViz over the escalation model (extra ``viz``).

``escalation-sim app`` serves it; in Jupyter, ``explorer()`` shows it inline.
Importing this package needs the ``viz`` extra (solara, altair).
"""

from escalation_sim.app.page import explorer

__all__ = ["explorer"]
