"""The procedure knowledge base and the pure, I/O-free FAQ matcher with Vietnamese text normalisation.

Nothing here imports aiohttp, telegram, sqlalchemy or `bot`: the bot wires it in through its `Context`.
"""

from knowledge.aspects import ASPECTS
from knowledge.loader import KnowledgeBase, KnowledgeBaseError, Problem, load_knowledge_base
from knowledge.matcher import Answer, Candidate, Matcher
from knowledge.models import CentreInfo, Department, GeneralEntry, Procedure

__all__ = [
    "ASPECTS",
    "Answer",
    "Candidate",
    "CentreInfo",
    "Department",
    "GeneralEntry",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Matcher",
    "Problem",
    "Procedure",
    "load_knowledge_base",
]
