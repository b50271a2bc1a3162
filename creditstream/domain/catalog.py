"""The unit catalog (信源单位目录): units, their indicator sets (指标集) with data type, update
frequency and category, deadline rules, list effects, and the pilot-USCC allow-list.

A TOML file (comments allowed, no extra dependency). `catalog_from_dict` is the pure part;
`load_catalog` reads the file. The bundled file describes the Huangshi demo units."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from creditstream.domain.categories import BLACKLIST_CATEGORIES, RED_LIST_CATEGORIES
from creditstream.domain.timeliness import DeadlineRule, parse_deadline

BUNDLED_CATALOG = Path(__file__).resolve().parent / "data" / "unit_catalog.toml"

DATA_TYPES = {"法人": "LEGAL_PERSON", "个体工商户": "INDIVIDUAL_BUSINESS", "自然人": "NATURAL_PERSON",
              "车辆": "VEHICLE"}
FREQUENCIES = frozenset({"实时", "日", "周", "月", "季度", "年"})
EFFECTS = frozenset({"", "list", "red_list", "repair", "deregistration"})


@dataclass(frozen=True)
class IndicatorSet:
    code: str
    name: str
    data_type: str          # SubjectType symbol
    frequency: str          # 实时 / 周 / 月 / 季度 ...
    category: str
    effect: str = ""        # see EFFECTS
    required: tuple[str, ...] | None = None  # decision fields required; None = the category's default


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    region: str
    deadline: DeadlineRule
    indicator_sets: tuple[str, ...]


@dataclass(frozen=True)
class UnitCatalog:
    units: dict[str, Unit]
    indicator_sets: dict[str, IndicatorSet]
    default_deadline: DeadlineRule
    pilot_usccs: frozenset[str] = frozenset()
    exit_on_deregistration: frozenset[str] = frozenset()
    _list_effects: dict = field(default_factory=dict, compare=False)

    def unit(self, code: str) -> Unit | None:
        return self.units.get(code)

    def deadline_for(self, unit_code: str) -> DeadlineRule:
        unit = self.units.get(unit_code)
        return unit.deadline if unit else self.default_deadline

    def list_effect(self, catalog_code: str, category: str) -> str:
        """What a record of this indicator set and category does to the lists: "list",
        "red_list", "repair", "deregistration" or ""."""
        key = (catalog_code, category)
        effect = self._list_effects.get(key)
        if effect is None:
            spec = self.indicator_sets.get(catalog_code)
            effect = spec.effect if spec and spec.effect else ""
            if not effect and category in BLACKLIST_CATEGORIES:
                effect = "list"
            elif not effect and category in RED_LIST_CATEGORIES:
                effect = "red_list"
            self._list_effects[key] = effect
        return effect


def catalog_from_dict(doc: dict) -> UnitCatalog:
    defaults = doc.get("defaults", {})
    sets: dict[str, IndicatorSet] = {}
    for raw in doc.get("indicator_sets", []):
        data_type = DATA_TYPES.get(raw.get("data_type", ""), raw.get("data_type", "UNKNOWN"))
        if raw.get("frequency", "实时") not in FREQUENCIES:
            raise ValueError(f"indicator set {raw['code']}: unknown frequency {raw['frequency']!r}")
        if raw.get("effect", "") not in EFFECTS:
            raise ValueError(f"indicator set {raw['code']}: unknown effect {raw['effect']!r}")
        required = tuple(raw["required"]) if "required" in raw else None
        sets[raw["code"]] = IndicatorSet(raw["code"], raw.get("name", raw["code"]), data_type,
                                         raw.get("frequency", "实时"), raw.get("category", "OTHER"),
                                         raw.get("effect", ""), required)
    units: dict[str, Unit] = {}
    for raw in doc.get("units", []):
        unknown = [s for s in raw.get("indicator_sets", []) if s not in sets]
        if unknown:
            raise ValueError(f"unit {raw['code']} reports unknown indicator sets {unknown}")
        units[raw["code"]] = Unit(raw["code"], raw.get("name", raw["code"]), raw.get("region", defaults.get("region", "")),
                                  parse_deadline(raw.get("deadline", defaults.get("deadline", "7wd"))),
                                  tuple(raw.get("indicator_sets", [])))
    return UnitCatalog(
        units=units,
        indicator_sets=sets,
        default_deadline=parse_deadline(defaults.get("deadline", "7wd")),
        pilot_usccs=frozenset(c.strip().upper() for c in doc.get("uscc_pilot_allow_list", {}).get("codes", [])),
        exit_on_deregistration=frozenset(doc.get("rules", {}).get("exit_on_deregistration", [])),
    )


def load_catalog(path: str | Path | None = None) -> UnitCatalog:
    with open(path or BUNDLED_CATALOG, "rb") as f:
        return catalog_from_dict(tomllib.load(f))
