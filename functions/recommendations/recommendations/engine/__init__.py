"""Reelstack recommendation engine: plain inputs in, scores and home-page rows out.

No AWS here (no boto3): the service layer loads interactions and the catalog, calls
``fit_models`` on a schedule and ``build_home`` per profile, and stores the documents.
"""

from .data import TIERS, Campaign, Catalog, Interaction, Profile, Title, maturity_level
from .models import EngineConfig, Models, fit_models
from .rows import RowConfig, build_fallback, build_home
from .select import EASE_MAX_TITLES, choose_cf

__all__ = [
    "EASE_MAX_TITLES",
    "TIERS",
    "Campaign",
    "Catalog",
    "EngineConfig",
    "Interaction",
    "Models",
    "Profile",
    "RowConfig",
    "Title",
    "build_fallback",
    "build_home",
    "choose_cf",
    "fit_models",
    "maturity_level",
]
