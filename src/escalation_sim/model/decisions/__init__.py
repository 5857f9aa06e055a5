"""The escalation decision layer: perception, response options, decision models, scales.

- :mod:`.perception`: what each actor observes (noisy, lagged, uncertainly
  attributed) and the precedents it sets;
- :mod:`.options`: which response options are open (gates by precedent and rung);
- :mod:`.models`: the named, pluggable decision models (``cost_benefit``, ``pressure``);
- :mod:`.scales`: the Rivera et al. (2024) score and the Kahn cross-walk;
- :mod:`.layer`: the decision phase of a step, and the hooks players use.
"""

from escalation_sim.model.decisions.layer import DecisionLayer
from escalation_sim.model.decisions.models import decision_model
from escalation_sim.model.decisions.options import Choice, Decision
from escalation_sim.model.decisions.perception import Observation
from escalation_sim.model.decisions.scales import RIVERA_SCORE, rivera_score

__all__ = [
    "RIVERA_SCORE",
    "Choice",
    "Decision",
    "DecisionLayer",
    "Observation",
    "decision_model",
    "rivera_score",
]
