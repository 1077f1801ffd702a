"""Limits of a watched container: its own, else the default of its storage temperature class."""
from dataclasses import asdict, dataclass

LIMIT_FIELDS = ("max_temperature_c", "min_temperature_c", "min_ln2_level", "max_silence_minutes")


@dataclass(frozen=True)
class EffectiveLimits:
    max_temperature_c: float | None
    min_temperature_c: float | None
    min_ln2_level: float | None
    max_silence_minutes: int | None
    defaults: tuple = ()    # which of the fields come from the temperature class

    def as_dict(self) -> dict:
        values = asdict(self)
        values["defaults"] = list(self.defaults)
        return values


# Highest temperature (°C), lowest temperature, lowest LN2 level (as the sensor reports it,
# % or cm), longest silence (minutes). LN2 samples must stay below the glass transition
# (about -135 °C); a liquid-phase probe warmer than -170 °C means the level has dropped.
DEFAULTS = {
    "LN2_liquid": (-170.0, None, 20.0, 30),
    "LN2_vapor": (-135.0, None, 10.0, 30),
    "-60to-85": (-60.0, None, None, 30),
    "-18to-35": (-18.0, None, None, 30),
    "2to10": (10.0, 2.0, None, 30),
    "RT": (25.0, 15.0, None, 60),
    None: (None, None, None, 60),
}


def defaults_for(temperature_class: str | None) -> dict:
    values = DEFAULTS.get(temperature_class, DEFAULTS[None])
    return dict(zip(LIMIT_FIELDS, values))


def effective(own, temperature_class: str | None) -> EffectiveLimits:
    """`own` is the container's Monitored row (or None)."""
    base = defaults_for(temperature_class)
    values, from_default = {}, []
    for name in LIMIT_FIELDS:
        value = getattr(own, name, None) if own is not None else None
        if value is None:
            value = base[name]
            from_default.append(name)
        values[name] = value
    return EffectiveLimits(**values, defaults=tuple(from_default))
