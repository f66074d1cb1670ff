"""The family's other APIs, each a bundled spec and its lifecycle mapping."""

from contracts.apis.bundled import api_named, bundled_apis
from contracts.apis.mapping import Api, ApiSpecError, Side

__all__ = ["Api", "ApiSpecError", "Side", "api_named", "bundled_apis"]
