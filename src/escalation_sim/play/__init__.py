"""Playing escalation-sim as a wargame: seated players, turns, briefings, game records, replay.

Any actor can be played by the model's decision layer (the default), a person
(:class:`~.players.HumanPlayer`), a move file (:class:`~.players.ScriptedPlayer`)
or an LLM behind a small adapter (:class:`~.llm.LLMPlayer`). A
:class:`~.game.Game` runs turns of several days; :func:`~.game.write_game`
writes the usual run outputs plus ``game.jsonl``, which
:func:`~.game.replay_game` plays back bit for bit.
"""

from escalation_sim.play.briefing import TurnView, briefing
from escalation_sim.play.game import (
    DEFAULT_TURN_DAYS,
    Game,
    Replay,
    check_replay,
    replay_game,
    steps_per_turn,
    turn_view,
    write_game,
)
from escalation_sim.play.llm import CommandClient, LLMClient, LLMPlayer, MockClient
from escalation_sim.play.moves import InvalidMove, Move, apply_move, check_move, load_moves
from escalation_sim.play.players import HumanPlayer, Player, ScriptedPlayer
from escalation_sim.play.record import GAME_JSONL, GameRecord, read_record

__all__ = [
    "DEFAULT_TURN_DAYS",
    "GAME_JSONL",
    "CommandClient",
    "Game",
    "GameRecord",
    "HumanPlayer",
    "InvalidMove",
    "LLMClient",
    "LLMPlayer",
    "MockClient",
    "Move",
    "Player",
    "Replay",
    "ScriptedPlayer",
    "TurnView",
    "apply_move",
    "briefing",
    "check_move",
    "check_replay",
    "load_moves",
    "read_record",
    "replay_game",
    "steps_per_turn",
    "turn_view",
    "write_game",
]
