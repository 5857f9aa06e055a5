"""Compiled rule verdicts: the work of :meth:`~escalation_sim.model.rules.RuleEngine.decide`.

:func:`decide_batch` decides a batch of proposed strikes with a loop over
strikes and, per strike, over the engine's rules in order (prohibitions
first, then permissions, as ``RuleEngine.rules`` lists them), stopping at the
first rule that matches; a strike no rule matches gets its supplier's
fallback. The numpy code of ``decide`` builds the whole (rules x strikes)
match matrix and takes its first maximum per column (``argmax``); the first
matching rule of the loop is that same index, so the two return the same
verdict indices, bit for bit.

A rule matches a strike when, as in the numpy code:

* its weapon x target-class scope holds (``RuleEngine._scope`` at
  ``weapon * n_classes + target_class``);
* the strike's depth lies in the rule's band, territory folded in
  (``lo <= depth <= hi``, the bounds ``RuleEngine`` computes once);
* the rule names no zones, or shares a zone bit with the strike;
* its purpose is met: ``any``; ``counter_fire`` when the target fired within
  the rule's window (``fired_hours_ago <= window``) or is preparing to attack;
  ``self_defense`` when the target is used to attack Ukraine;
* its condition holds (``active``: ``_condition_met`` per rule, evaluated in
  Python once per call and passed in).

Weapon and target-class indices must lie in the engine's catalogues (as
``RuleEngine.batch`` builds them); the kernel raises ``IndexError`` for one
that does not, where compiled code would otherwise read outside its tables
(numpy's fancy indexing would wrap a negative index or, for a class, land in
the next weapon's row).

Only comparisons, bit operations and look-ups are involved: no arithmetic that
numba and numpy could round differently. A NaN depth or time fails every
comparison on both paths alike.

The fallback is precomputed per weapon (:func:`fallback_table`): inside
Russia (``depth > 0``) the supplier's default entry ("no permission" for a
restricting supplier, "unrestricted" for another); elsewhere the
Ukrainian-territory entry for a restricting supplier and "unrestricted" for
another. That is the numpy code's nested ``where`` read per weapon.
"""

from __future__ import annotations

import numpy as np

from escalation_sim.model.kernels import kernel

#: Rows of the per-rule float table handed to :func:`decide_batch`.
RULE_LO, RULE_HI, RULE_WINDOW = 0, 1, 2
#: Rows of the per-rule integer table handed to :func:`decide_batch`.
RULE_ZONE_BITS, RULE_HAS_ZONES, RULE_PURPOSE = 0, 1, 2
#: Purpose codes (``rules._PURPOSE_CODE``).
PURPOSE_ANY, PURPOSE_COUNTER_FIRE, PURPOSE_DEFENCE = 0, 1, 2


def fallback_table(
    weapon_supplier: np.ndarray,
    restricted: np.ndarray,
    default_index: np.ndarray,
    ukraine_index: int,
) -> np.ndarray:
    """The fallback verdict per weapon, inside Russia (row 0) and elsewhere (row 1).

    Args:
        weapon_supplier: Supplier index of each weapon.
        restricted: Whether each supplier places rules on its weapons.
        default_index: Each supplier's default entry ("no permission" or "unrestricted").
        ukraine_index: The Ukrainian-territory entry.

    Returns:
        A C-contiguous int64 array of shape (2, weapons).
    """
    own_default = default_index[weapon_supplier]
    outside = np.where(restricted[weapon_supplier], ukraine_index, own_default)
    return np.ascontiguousarray(np.stack([own_default, outside]).astype(np.int64))


@kernel
def decide_batch(
    weapon: np.ndarray,
    target_class: np.ndarray,
    depth_km: np.ndarray,
    zone_bits: np.ndarray,
    fired_hours_ago: np.ndarray,
    preparing_attack: np.ndarray,
    attacks_ukraine: np.ndarray,
    scope: np.ndarray,
    n_classes: int,
    rule_float: np.ndarray,
    rule_int: np.ndarray,
    active: np.ndarray,
    fallback: np.ndarray,
) -> np.ndarray:
    """Index of the deciding entry of ``RuleEngine.labels`` for each strike.

    Args:
        weapon: Weapon index of each strike.
        target_class: Target-class index of each strike.
        depth_km: Depth into Russia of each target.
        zone_bits: Zone bits of each target.
        fired_hours_ago: Hours since each target last fired (``inf``: never).
        preparing_attack: Evidence of preparation, per strike.
        attacks_ukraine: Military target used to attack Ukraine, per strike.
        scope: (rules, weapons x classes) weapon-and-class scope of each rule.
        n_classes: Number of target classes (the scope's inner stride).
        rule_float: (3, rules): depth band low and high, counter-fire window.
        rule_int: (3, rules): zone bits, names-zones flag, purpose code.
        active: Whether each rule's condition holds now.
        fallback: (2, weapons) fallback entry inside Russia and elsewhere.

    Returns:
        The verdict index per strike (int64).
    """
    n = weapon.shape[0]
    n_rules = scope.shape[0]
    n_weapons = fallback.shape[1]
    decided = np.empty(n, dtype=np.int64)
    for j in range(n):
        # Compiled code reads without bounds checks: a bad index must not read outside the tables.
        if not (0 <= weapon[j] < n_weapons and 0 <= target_class[j] < n_classes):
            raise IndexError("strike batch: weapon or target-class index outside the catalogue")
        key = weapon[j] * n_classes + target_class[j]
        depth = depth_km[j]
        found = -1
        for k in range(n_rules):
            if not scope[k, key] or not active[k]:
                continue
            if not (depth >= rule_float[RULE_LO, k] and depth <= rule_float[RULE_HI, k]):
                continue
            if (
                rule_int[RULE_HAS_ZONES, k] != 0
                and (zone_bits[j] & rule_int[RULE_ZONE_BITS, k]) == 0
            ):
                continue
            purpose = rule_int[RULE_PURPOSE, k]
            if purpose == PURPOSE_COUNTER_FIRE:
                met = fired_hours_ago[j] <= rule_float[RULE_WINDOW, k] or preparing_attack[j]
            elif purpose == PURPOSE_DEFENCE:
                met = attacks_ukraine[j]
            else:
                met = True
            if not met:
                continue
            found = k
            break
        if found < 0:
            found = fallback[0, weapon[j]] if depth > 0.0 else fallback[1, weapon[j]]
        decided[j] = found
    return decided
