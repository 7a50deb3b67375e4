"""Family and tier of a model new to the catalog, from editable rules (TierRule in the admin). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Seeded as TierRule rows; staff change them in the admin. First match (lowest order) wins.
DEFAULT_TIER_RULES: tuple[tuple[int, str, str, str], ...] = (
    (10, r"opus|premier|mythos|fable|405b|large|maverick|deepseek\.r1|astra|gpt-5\.5|kimi|palmyra-x5", "flagship", ""),
    # Other platforms (issue #12): OpenAI's -pro models and Gemini Pro lead their lines; Gemini is matched
    # before the efficient rule, whose "mini" would otherwise match every "gemini".
    (12, r"\b(?:gpt-[\d.]+|o\d)-pro\b|gemini-[\d.]+-pro|gemini-pro", "flagship", ""),
    (14, r"gemini[\w.-]*(?:flash-lite|-8b|embedding)", "efficient", ""),
    (16, r"gemini", "balanced", ""),
    # Small open-weight models: up to 14B parameters (8b, 3b, 14b; not 70b or 90b).
    (20, r"haiku|micro|lite|mini|small|nano|instant|scout|embed|luna|(?<![\d.])(?:[1-9]|1[0-4])b\b", "efficient", ""),
    (90, r".", "balanced", ""),
)
_FAMILY_WORDS = ("opus", "sonnet", "haiku", "instant")
_MISTRAL = ("mistral", "mixtral", "pixtral", "ministral", "magistral", "devstral", "voxtral", "codestral")


@dataclass(frozen=True)
class Rule:
    pattern: str
    tier: str
    family: str = ""


def family_of(model_id: str) -> str:
    """claude-sonnet, nova, llama, mistral, gpt-oss, qwen ... from a runtime id."""
    core = model_id.split(".", 1)[-1].lower()
    if core.startswith("claude"):
        word = next((w for w in _FAMILY_WORDS if w in core), "")
        return f"claude-{word}" if word else "claude"
    if core.startswith("gpt-oss"):
        return "gpt-oss"
    first = re.split(r"[^a-z]+", core, maxsplit=1)[0]
    if first in _MISTRAL:
        return "mistral"
    if len(first) < 3:  # deepseek.r1, ...: the provider names the family
        return model_id.split(".", 1)[0].lower()
    return first


def classify(model_id: str, name: str, rules: Iterable[Rule]) -> tuple[str, str]:
    """(family, tier) by the first rule whose pattern matches the id or the name."""
    text = f"{model_id} {name}"
    for rule in rules:
        if re.search(rule.pattern, text, re.IGNORECASE):
            return rule.family or family_of(model_id), rule.tier
    return family_of(model_id), "balanced"
