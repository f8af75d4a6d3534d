"""Loading the policy files that describe reading — frame.yaml, examples.yaml and parties.yaml — validated against
their models (gpskb.schema), against each other and against the lexicon's concepts (a step of gpskb.policy.load)."""
from __future__ import annotations

from pathlib import Path

from .errors import PolicyError
from .knowledge import Concept
from .schema.check import validated
from .schema.fields import CONCEPT_KINDS
from .schema.frame import Examples, ExampleTexts, FrameConfig
from .schema.parties import Parties
from .yamlfiles import display_path, read_yaml


def load_reading(root: Path, concepts: dict[str, Concept]) -> tuple[FrameConfig, ExampleTexts, Parties]:
    """frame.yaml, examples.yaml and parties.yaml, validated against each other and the lexicon's concepts."""
    fname = display_path(root / "frame.yaml")
    frame = validated(FrameConfig, read_yaml(root / "frame.yaml"), fname)
    _check_frame(frame, fname, concepts)
    ename = display_path(root / "examples.yaml")
    examples = validated(Examples, read_yaml(root / "examples.yaml"), ename).slots
    for slot_id, values in examples.items():
        if slot_id not in frame.slots:
            raise PolicyError(ename, f"slots.{slot_id}", "not a slot of frame.yaml")
        unknown = set(values) - set(frame.slots[slot_id].values)
        if unknown:
            raise PolicyError(ename, f"slots.{slot_id}.{sorted(unknown)[0]}", "not a value of this slot in frame.yaml")
    pname = display_path(root / "parties.yaml")
    parties = validated(Parties, read_yaml(root / "parties.yaml"), pname)
    for i, c in enumerate(parties.categories):
        for key in ("concept", "as_purchaser"):
            if getattr(c, key) not in concepts:
                raise PolicyError(pname, f"categories.{i}.{key}", f"unknown concept {getattr(c, key)!r}")
    categories = {c.id for c in parties.categories}
    for slot_id, slot in frame.slots.items():
        for value_id, value in slot.values.items():
            for j, cat in enumerate(value.corroborated.out_of_scope_at_unless_parties if value.corroborated else ()):
                if cat not in categories:
                    raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.corroborated.out_of_scope_at_unless_parties[{j}]",
                                      f"unknown party category {cat!r} ({pname} categories)")
    for key in ("purchaser_concept", "provider_concept"):
        if getattr(parties.roles, key) not in concepts:
            raise PolicyError(pname, f"roles.{key}", f"unknown concept {getattr(parties.roles, key)!r}")
    return frame, examples, parties


def _check_frame(frame: FrameConfig, fname: str, concepts: dict[str, Concept]) -> None:
    """Every concept, aspect, cue and concept kind frame.yaml names is known."""
    for slot_id, slot in frame.slots.items():
        for value_id, value in slot.values.items():
            for key in ("concept", "possible", "settled"):
                c = getattr(value, key)
                if c and c not in concepts:
                    raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.{key}", f"unknown concept {c!r}")
            for key in ("lexicon", "unless", "topic_of_services", "topic_words", "topic_form_words"):
                for j, c in enumerate(getattr(value, key)):
                    if c not in concepts:
                        raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.{key}[{j}]",
                                          f"unknown concept {c!r}")
            for j, c in enumerate(value.corroborated.unless if value.corroborated else ()):
                if c not in concepts:
                    raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.corroborated.unless[{j}]",
                                      f"unknown concept {c!r}")
            for j, a in enumerate(value.guess_for):
                if a not in frame.slots["aspect"].values:
                    raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.guess_for[{j}]", f"unknown aspect {a!r}")
            for key in ("topic_blocked_by", "topic_forms", "unless_contradicted_by"):
                for j, k in enumerate(getattr(value, key)):
                    if k not in frame.cues:
                        raise PolicyError(fname, f"slots.{slot_id}.values.{value_id}.{key}[{j}]",
                                          f"unknown cue {k!r} (frame.yaml cues)")
    for j, k in enumerate(frame.party_kinds):
        if k not in CONCEPT_KINDS:
            raise PolicyError(fname, f"party_kinds[{j}]", f"unknown concept kind {k!r} (one of {', '.join(CONCEPT_KINDS)})")
    aspects = frame.slots["aspect"].values
    for field_name, listed in (("party_aspects", frame.party_aspects),
                               ("general_test.asks_whether_with", frame.general_test.asks_whether_with)):
        for j, a in enumerate(listed):
            if a not in aspects:
                raise PolicyError(fname, f"{field_name}[{j}]", f"unknown aspect {a!r}")
    for section in ("denials", "contradictions"):
        for key, value in getattr(frame, section).items():
            for c in (key, value):
                if c not in concepts:
                    raise PolicyError(fname, f"{section}.{key}", f"unknown concept {c!r}")
    if frame.general_test.concept not in concepts:
        raise PolicyError(fname, "general_test.concept", f"unknown concept {frame.general_test.concept!r}")
