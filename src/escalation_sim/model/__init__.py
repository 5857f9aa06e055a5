"""The Mesa model and its processes; it knows no files, terminals, figures or players.

``model.py`` wires the parts (:class:`EscalationModel`); ``agents.py`` holds the
state actors and force-unit views; the processes each own a module: the force
layer (``forces``), Ukraine's counter-fire choices (``engagement``), the rule
engine (``rules``), suppliers' policy (``policy``), the escalation ladder
(``ladder``), the decision layer (``decisions``: perception, response options,
decision models, scales), the player hooks (``control``), geography
(``theater``) and the event log (``events``).
"""

from escalation_sim.model.model import EscalationModel

__all__ = ["EscalationModel"]
