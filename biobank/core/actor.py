"""Who is acting. Services take an Actor explicitly so the web, the API and the
CLI all call them the same way."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    user_id: int | None = None
    via: str = "api"   # api, web or cli

    @classmethod
    def of(cls, user, via: str) -> "Actor":
        return cls(username=user.username, role=user.role, user_id=user.id, via=via)


def system_actor(name: str = "system") -> Actor:
    """The actor for CLI work that is not done as a named user (demo, import)."""
    return Actor(username=name, role="admin", via="cli")
