"""Vertex AI / Gemini API SKU descriptions -> model, token type, tier, context. Pure.

SKU descriptions name the model first and then what is billed, in several orders Google has used:
"Gemini 2.5 Pro Input Text Tokens", "Gemini 2.5 Pro Text Input - Predictions", "Gemini 2.0 Flash Cached
Input Text Tokens", "Gemini 2.5 Pro Batch Input Text Tokens", "Gemini 2.5 Pro Long Context Output Text
Tokens", "Gemini 2.5 Flash Input Audio Tokens", "Claude Sonnet 4.5 Input Tokens", "Claude Sonnet 4.5 Cache
Write Input Tokens", "Claude 3.5 Sonnet Cache Hit Input Tokens". The model is the words before the first
word that says what is billed; a SKU with neither input nor output (caching storage, tuning, endpoints) is
not a token SKU: its cost is kept, no tokens counted."""

from __future__ import annotations

import re
from dataclasses import dataclass

BILLED_WORDS = {
    "input", "output", "cached", "cache", "batch", "long", "context", "text", "image", "images", "audio", "video",
    "tokens", "token", "characters", "predictions", "prediction", "thinking", "storage", "tuning", "online",
    "hit", "write", "read", "for", "-", "short", "grounding", "request", "requests", "priority", "flex",
}  # fmt: skip
MODALITIES = {"image": "image", "images": "image", "audio": "audio", "video": "video"}
MODEL_START = re.compile(r"^(gemini|claude|gemma|imagen|veo|llama|mistral|codestral|jamba|text-embedding|embedding)")
PARTNER = re.compile(r"^(claude|llama|mistral|codestral|jamba)", re.IGNORECASE)
CLAUDE_VERSION = re.compile(r"(?<=\d)\.(?=\d)")


@dataclass(frozen=True)
class Sku:
    model: str  # gemini-2.5-pro, claude-sonnet-4-5; blank when the SKU names none
    token_type: str  # input, output, cache_read, cache_write, input_image, output_audio ...; blank: not tokens
    service_tier: str  # standard, batch, priority, flex
    context: str  # "long" for long-context SKUs
    category: str  # tokens, other


def _words(description: str) -> list[str]:
    return [w for w in re.split(r"[\s_]+|(?<=\w)-(?=\s)|\s-\s", description.strip().lower()) if w]


def parse_sku(description: str) -> Sku:
    words = _words(description)
    model_words: list[str] = []
    rest: list[str] = []
    for index, word in enumerate(words):
        if word in BILLED_WORDS:
            rest = words[index:]
            break
        model_words.append(word)
    model = "-".join(w for part in model_words for w in part.split("-") if w)
    if model.startswith("claude"):
        model = CLAUDE_VERSION.sub("-", model)  # Vertex spells Claude ids with hyphens: claude-sonnet-4-5
    if not MODEL_START.match(model):
        model = ""
    joined = " ".join(rest)
    tier = (
        "batch" if "batch" in rest else "priority" if "priority" in rest else "flex" if "flex" in rest else "standard"
    )
    context = "long" if "long" in rest else ""
    if "storage" in rest or "tuning" in rest:
        return Sku(model, "", tier, context, "other")
    if "input" in rest:
        direction = "input"
    elif "output" in rest:
        direction = "output"
    else:
        return Sku(model, "", tier, context, "other")
    modality = next((MODALITIES[w] for w in rest if w in MODALITIES), "")
    if "cache write" in joined or ("cache" in rest and "write" in rest):
        token_type = "cache_write"
    elif "cached" in rest or "cache hit" in joined or "cache read" in joined or "cache" in rest:
        token_type = "cache_read"
    elif modality:
        token_type = f"{direction}_{modality}"
    else:
        token_type = direction
    return Sku(model, token_type, tier, context, "tokens")


def is_vertex_sku(*, service: str, sku_description: str) -> bool:
    """A Vertex AI or Gemini API charge for a generative model, or a partner model (Claude, Llama, Mistral)
    billed on Google Cloud (those bill under their own service names)."""
    name = service.strip().lower()
    if name in {"vertex ai", "gemini api", "generative language api"} or "vertex ai" in name:
        return bool(parse_sku(sku_description).model)
    return bool(PARTNER.match(sku_description.strip())) and bool(parse_sku(sku_description).model)
