"""``python -m escalation_sim`` runs the command line."""

from escalation_sim.cli import main

main()
