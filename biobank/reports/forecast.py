"""When will a container be full? A straight line through recent net intake.

Pure functions; capacity.py feeds them weekly numbers from the custody log.
"""
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from ..core.lazy_text import lazy_gettext as _l

WINDOW_WEEKS = 12
HORIZON_DAYS = 100 * 365  # beyond this a date means nothing: "never"
NEVER = "never"

METHOD = _l("Least-squares straight line through the cumulative net intake (tubes stored in minus tubes taken "
            "out, from the custody log: registrations, returns and moves in, minus check-outs, discards and "
            "moves out) over the last %(weeks)s rolling 7-day weeks ending now. Its slope is the fill "
            "rate in positions per week; the full date is today + free positions / rate. \"never\" when the "
            "rate is zero or negative (flat or shrinking) or the date is more than 100 years away.",
            weeks=WINDOW_WEEKS)


@dataclass(frozen=True)
class Forecast:
    full_date: str            # ISO date, or "never"
    rate_per_week: float      # fitted net positions per week
    method: str               # short description for this item

    def as_dict(self) -> dict:
        return {"forecast_full_date": self.full_date, "forecast_rate_per_week": round(self.rate_per_week, 3),
                "forecast_method": self.method}


def slope(weekly_net: list[float]) -> float:
    """Least-squares slope of the cumulative series 0, w0, w0+w1, ... (per week)."""
    ys = [0.0]
    for value in weekly_net:
        ys.append(ys[-1] + value)
    n = len(ys)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(ys) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def fill_forecast(free: int, weekly_net: list[float], today: date) -> Forecast:
    """weekly_net: net positions filled per week, oldest first."""
    rate = slope(weekly_net)
    weeks = len(weekly_net)
    if free <= 0:
        return Forecast(today.isoformat(), rate, _("already full"))
    values = {"weeks": weeks, "rate": f"{rate:+.2f}", "free": free}
    if rate <= 1e-9:
        if abs(rate) <= 1e-9:
            return Forecast(NEVER, rate, _("linear fit over %(weeks)s weeks: %(rate)s positions/week (flat)",
                                           **values))
        return Forecast(NEVER, rate, _("linear fit over %(weeks)s weeks: %(rate)s positions/week (shrinking)",
                                       **values))
    days = free / rate * 7
    if days > HORIZON_DAYS:
        return Forecast(NEVER, rate, _("linear fit over %(weeks)s weeks: %(rate)s positions/week (more than 100 "
                                       "years to fill)", **values))
    full = today + timedelta(days=int(days) + (0 if days == int(days) else 1))
    return Forecast(full.isoformat(), rate, _("linear fit over %(weeks)s weeks: %(rate)s positions/week, %(free)s "
                                              "free", **values))
