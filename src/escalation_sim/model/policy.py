"""A supplier's rules in force, and how they change: scheduled and adaptive.

Each supplier has named postures (rule sets) ordered by ``level``. The rules in
force are the current posture's rules, plus rules added and minus rules removed
by scheduled changes. Adaptation moves a supplier one posture up (wider) when
harm to the city and its allies' wider stances, less the restraint of Russia's
credible threats, push it past its threshold, and one posture down (narrower)
when Russia's perceived acts amount to a threat past its limit or Russia's
rung reaches the supplier's limit. Everything is read as the supplier
perceives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from escalation_sim.scenario.schema import RuleSpec, ScheduledChangeSpec, SupplierPolicySpec


@dataclass(slots=True)
class PolicyChange:
    """A change of a supplier's rules, for the event log."""

    supplier: str
    kind: str  # "scheduled", "widen" or "narrow"
    from_posture: str
    to_posture: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    cause: str


@dataclass(slots=True)
class PolicyState:
    """The rules a supplier has in force now.

    Attributes:
        level: The permissiveness level of the posture in force, set with
            ``posture`` (whoever sets it) and read as a plain attribute: the
            recording and the policy responses read it every step.
    """

    supplier: str
    spec: SupplierPolicySpec
    posture: str
    added: list[RuleSpec] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    last_change_day: float = -1e9
    level: int = field(init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name == "posture":  # the level follows the posture, however it is set
            object.__setattr__(self, "level", self.spec.postures[value].level)  # type: ignore[index]

    @property
    def ordered_postures(self) -> list[str]:
        """Posture names from narrowest to widest (by level, then name)."""
        return sorted(self.spec.postures, key=lambda p: (self.spec.postures[p].level, p))

    def active_rules(self) -> list[RuleSpec]:
        """Rules in force: the posture's, plus added, minus removed.

        An added rule replaces the posture's rule of the same id.
        """
        added = [r for r in self.added if r.id not in self.removed]
        replaced = self.removed | {r.id for r in added}
        rules = [r for r in self.spec.postures[self.posture].rules if r.id not in replaced]
        return rules + added

    def apply_scheduled(self, change: ScheduledChangeSpec, day: float) -> PolicyChange:
        """Apply a scheduled change and describe it."""
        before = self.posture
        if change.posture is not None:
            self.posture = change.posture
        # Removals first, so that a change which removes a rule id and adds a
        # rule under the same id replaces the rule instead of losing it.
        self.removed |= set(change.remove_rules)
        for rule in change.add_rules:
            self.removed.discard(rule.id)
            self.added = [r for r in self.added if r.id != rule.id] + [rule]
        self.last_change_day = day
        return PolicyChange(
            self.supplier,
            "scheduled",
            before,
            self.posture,
            tuple(r.id for r in change.add_rules),
            tuple(change.remove_rules),
            change.note or f"scheduled change on day {change.day}",
        )

    def _neighbour(self, direction: int) -> str | None:
        order = self.ordered_postures
        i = order.index(self.posture) + direction
        return order[i] if 0 <= i < len(order) else None

    def may_change(self, day: float, u: float) -> bool:
        """Whether :meth:`adapt` can change the posture today, whatever the supplier perceives.

        Not when this step's draw ``u`` is past the chance of acting, the last
        change is too recent, or the supplier adapts in neither direction; the
        model then need not work out what the supplier perceives.
        """
        a = self.spec.adaptation
        return (
            u < a.change_prob
            and day - self.last_change_day >= a.min_days_between_changes
            and (a.narrow or a.widen)
        )

    def adapt(
        self,
        day: float,
        harm_per_day: float,
        allies_level: float | None,
        russia_rung: int,
        u: float,
        *,
        threat: float = 0.0,
    ) -> PolicyChange | None:
        """Maybe widen or narrow the posture; ``u`` is this step's uniform draw.

        The supplier narrows when Russia's rung reaches its limit or when the
        threat it perceives (Russia's recent acts, by escalation score, each
        weighed by the credibility of Russia's threats) reaches
        ``narrow_at_threat``; it widens when harm and its allies' wider stances,
        less ``restraint_weight`` x that threat, push it past its threshold.
        Threats Russia made and did not carry out lose credibility, so they
        restrain less: suppliers widen on what happens in the run.

        Args:
            day: Current day.
            harm_per_day: Recent harm to the target city per day, as perceived.
            allies_level: Mean posture level of the other suppliers (None if alone).
            russia_rung: Russia's rung as last perceived.
            u: A uniform draw in [0, 1) from the policy stream.
            threat: Russia's threat as the supplier perceives it.
        """
        a = self.spec.adaptation
        if not self.may_change(day, u):
            return None
        if a.narrow and russia_rung >= a.narrow_at_rung:
            target = self._neighbour(-1)
            cause = f"Russia reached rung {russia_rung} (limit {a.narrow_at_rung})"
            kind = "narrow"
        elif a.narrow and threat >= a.narrow_at_threat:
            target = self._neighbour(-1)
            cause = f"Russia's perceived threat {threat:.1f} >= {a.narrow_at_threat:g}"
            kind = "narrow"
        elif a.widen and russia_rung < a.narrow_at_rung:
            ally_gap = max(0.0, (allies_level or 0.0) - self.level)
            restraint = a.restraint_weight * threat
            push = a.harm_weight * harm_per_day + a.ally_weight * ally_gap - restraint
            if push < a.widen_threshold:
                return None
            target = self._neighbour(+1)
            cause = (
                f"harm {harm_per_day:.1f}/day and allies {ally_gap:.1f} levels wider, "
                f"restraint {restraint:.2f} from Russia's threat: "
                f"push {push:.2f} >= {a.widen_threshold:g}"
            )
            kind = "widen"
        else:
            return None
        if target is None:
            return None
        before = self.posture
        self.posture = target
        self.last_change_day = day
        return PolicyChange(self.supplier, kind, before, target, (), (), cause)
