"""Package data: default catalogues (weapons, ladder, theater, forces, rules)."""
