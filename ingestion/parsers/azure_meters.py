"""Azure OpenAI meters -> model, token type, deployment type; UnitOfMeasure -> how many of a thing one unit of
Quantity is. Pure.

Meter names are not regular: Azure has spelt them several ways over the years, all seen in real exports and
in the Retail Prices API (`meterName`):
  "gpt-4o-0806-Inp-glbl Tokens", "gpt 4o 0513 Input global Tokens", "gpt 4o 1120 cached Inp glbl",
  "gpt-4o-mini-0718-Outp-glbl Tokens", "gpt-4-8K-Batch-Inp-glbl Tokens", "gpt 4.5 0227 cached Inp DZone",
  "gpt-35-turbo-4k-Input-regional", "GPT 5 Inpt Glbl", "gpt-4o-mini-tts-aud-out-glbl",
  "Provisioned Managed Global Units" (PTU, billed by the hour).
So the name is split into words; the words that say token type (Inp/Input/Inpt, Outp/Output/Out, cached),
deployment type (glbl/global, regnl/regional, DZone/Data Zone), batch and modality (aud, txt, img) are taken
out, a 4-digit model version (0806) and a context size (8K) are set aside, and what is left is the model
(`gpt-4o-mini`). A meter with no token-type word is not a token meter: its cost is kept, no tokens counted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

INPUT_WORDS = {"inp", "input", "inpt", "in", "prompt"}
OUTPUT_WORDS = {"outp", "output", "out", "opt", "completion"}
CACHED_WORDS = {"cached", "cchd", "cache", "cachd"}
GLOBAL_WORDS = {"glbl", "global", "gl", "glb"}
REGIONAL_WORDS = {"regnl", "regional", "regn", "rgnl", "reg"}
DATA_ZONE_WORDS = {"dzone", "datazone", "dz"}
# "text" itself is left in the name (text-embedding-3-small); only the abbreviation marks a modality.
MODALITY_WORDS = {"aud": "audio", "audio": "audio", "img": "image", "txt": "text"}
FINE_TUNING_WORDS = {"ftuned", "ft", "hosting", "training", "grader", "finetuned", "fine"}
FILLER_WORDS = {"tokens", "token", "tok", "tkns", "1k", "1m", "unit", "units"}
VERSION = re.compile(r"^\d{4}$")
CONTEXT = re.compile(r"^(\d+)k$")
GLUED_CONTEXT = re.compile(r"^([a-z]+)(\d+k)$")  # turbo4k
# What an OpenAI model's name starts with, for rows whose category does not say "OpenAI".
OPENAI_MODEL = re.compile(
    r"^(gpt|o\d|chatgpt|dall|whisper|tts|text-embedding|embedding|ada|babbage|davinci|codex|computer-use|sora)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Meter:
    model: str  # "gpt-4o-mini"; blank when the meter names none (PTU)
    version: str  # "0718"
    token_type: str  # input, output, cache_read, input_audio, output_audio, input_image, model_unit_hour, ""
    service_tier: str  # standard, batch, provisioned
    route: str  # global, geo (data zone), in_region; blank when the meter does not say
    category: str  # tokens, provisioned_throughput, fine_tuning, other
    context: str = ""  # "8k" as the meter names it


def _words(name: str) -> list[str]:
    words: list[str] = []
    for word in re.split(r"[\s\-_/]+", name.strip().lower()):
        if not word:
            continue
        glued = GLUED_CONTEXT.match(word)
        if glued and glued.group(1) not in {"gpt"}:
            words.extend([glued.group(1), glued.group(2)])
        else:
            words.append(word)
    return words


def _route(words: list[str]) -> str:
    joined = " ".join(words)
    if any(w in DATA_ZONE_WORDS for w in words) or "data zone" in joined:
        return "geo"
    if any(w in GLOBAL_WORDS for w in words):
        return "global"
    if any(w in REGIONAL_WORDS for w in words):
        return "in_region"
    return ""


def parse_meter(meter_name: str) -> Meter:
    words = _words(meter_name)
    route = _route(words)
    if "provisioned" in words or "ptu" in words:
        return Meter("", "", "model_unit_hour", "provisioned", route, "provisioned_throughput")
    tier = "batch" if "batch" in words else "standard"
    direction = ""
    cached = False
    modality = ""
    version = ""
    context = ""
    model_words: list[str] = []
    fine_tuning = False
    for word in words:
        if word in CACHED_WORDS:
            cached = True
        elif word in INPUT_WORDS:
            direction = direction or "input"
        elif word in OUTPUT_WORDS:
            direction = direction or "output"
        elif word in MODALITY_WORDS:
            modality = MODALITY_WORDS[word]
        elif word in FINE_TUNING_WORDS:
            fine_tuning = True
        elif word in GLOBAL_WORDS | REGIONAL_WORDS | DATA_ZONE_WORDS | FILLER_WORDS | {"batch", "data", "zone"}:
            continue
        elif VERSION.match(word) and model_words:
            version = version or word
        elif CONTEXT.match(word) and model_words:
            context = context or word
        else:
            model_words.append(word)
    model = _model_name(model_words)
    if fine_tuning:
        return Meter(model, version, "", tier, route, "fine_tuning", context)
    if not direction:
        return Meter(model, version, "", tier, route, "other", context)
    if cached:
        token_type = "cache_read"  # Azure bills cached input only (no cache-write charge)
    elif modality in {"audio", "image"}:
        token_type = f"{direction}_{modality}"
    else:
        token_type = direction
    return Meter(model, version, token_type, tier, route, "tokens", context)


def _model_name(words: list[str]) -> str:
    """`gpt 4o mini` -> gpt-4o-mini; `gpt 35 turbo` -> gpt-35-turbo; `gpt 4.1 nano` -> gpt-4.1-nano."""
    return "-".join(words)


def is_openai_meter(*, category: str, subcategory: str, meter_name: str, service: str = "") -> bool:
    """An Azure OpenAI charge: its subcategory/service says OpenAI, or it is a Cognitive Services / Foundry
    Models meter whose model is an OpenAI one (Foundry Models also bills DeepSeek, Llama, Mistral ...)."""
    labels = f"{subcategory} {service}".lower()
    if "openai" in labels.replace(" ", ""):
        return True
    cat = category.lower()
    if "cognitive services" in cat or "foundry" in cat or "openai" in cat.replace(" ", ""):
        return bool(OPENAI_MODEL.match(parse_meter(meter_name).model or ""))
    return False


UNIT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)?\s*([km](?![a-z]))?\s*(.*?)\s*$", re.IGNORECASE)
MULTIPLIERS = {"k": Decimal(1000), "m": Decimal(1_000_000)}
TOKEN_UNIT_WORDS = {"token", "tokens"}
HOUR_UNIT_WORDS = {"hour", "hours", "hr", "hrs", "/hour"}


@dataclass(frozen=True)
class UnitOfMeasure:
    per_quantity: Decimal | None  # how many tokens (or hours) one unit of Quantity is; None when not understood
    kind: str  # tokens, hours, unknown
    text: str

    @property
    def label(self) -> str:
        if self.kind == "tokens" and self.per_quantity is not None:
            names = {Decimal(1): "tokens", Decimal(1000): "1K tokens", Decimal(1_000_000): "1M tokens"}
            return names.get(self.per_quantity, f"{self.per_quantity:,f} tokens")
        if self.kind == "hours":
            return "hours" if self.per_quantity == 1 else f"{self.per_quantity:,f} hours"
        return self.text or "unknown"


def parse_unit(text: str) -> UnitOfMeasure:
    """`1K` -> 1,000 tokens a unit; `1M` -> 1,000,000; `1000 Tokens` -> 1,000; `1 Hour` / `100 Hours` -> hours.
    Anything else is not understood (the caller keeps the cost and counts no tokens): never assumed."""
    match = UNIT.match(text or "")
    if not match or not (text or "").strip():
        return UnitOfMeasure(None, "unknown", text or "")
    number_text, multiplier, word = match.groups()
    number = Decimal(number_text.replace(",", ".")) if number_text else Decimal(1)
    if multiplier:
        number *= MULTIPLIERS[multiplier.lower()]
    word = word.lower().replace("1 ", "").strip()
    if word in HOUR_UNIT_WORDS:
        return UnitOfMeasure(number, "hours", text)
    if word in TOKEN_UNIT_WORDS or (multiplier and not word):
        return UnitOfMeasure(number, "tokens", text)  # "1K", "1M", "1K Tokens", "1000 Tokens", "Tokens"
    return UnitOfMeasure(None, "unknown", text)
