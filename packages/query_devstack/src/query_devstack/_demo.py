"""Deterministic demo data: several users, several ``ap_id`` values, items without one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["DEMO_AP_IDS", "DEMO_USERS", "demo_items", "ulid"]

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEMO_USERS: Final = ("u-1001", "u-1002", "u-1003", "u-1004")
DEMO_AP_IDS: Final = ("ap-billing", "ap-search", "ap-reports")
_STATUSES: Final = ("done", "done", "done", "pending", "failed")
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)


def ulid(at: datetime, rng: random.Random) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32 (26 chars)."""
    value = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def demo_items(
    users: tuple[str, ...] = DEMO_USERS, per_user: int = 45, seed: int = 7
) -> list[dict[str, dict[str, Any]]]:
    """Typed DynamoDB items: per user, a mix of ``ap_id`` values and legacy items without one.

    Every fifth item predates ``ap_id`` and carries only the legacy ``marketing_id``.
    The ``data`` maps use every DynamoDB type the service converts.
    """
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    items = []
    for user_index, user_id in enumerate(users):
        for n in range(per_user):
            created = _EPOCH + timedelta(hours=user_index * 1000 + n * 7, seconds=rng.randrange(60))
            item: dict[str, dict[str, Any]] = {
                "user_id": {"S": user_id},
                "result_id": {"S": ulid(created, rng)},
                "status": {"S": _STATUSES[n % len(_STATUSES)]},
                "created_at": {"S": created.isoformat().replace("+00:00", "Z")},
                "data": {
                    "M": {
                        "query": {"S": f"report #{n}"},
                        "rows": {"N": str(rng.randrange(0, 5000))},
                        "score": {"N": f"{rng.random():.4f}"},
                        "tags": {"SS": sorted({"demo", f"batch-{n % 3}"})},
                        "buckets": {"NS": [str(n), str(n * 10 + 1)]},
                        "checksum": {"B": bytes([n % 256, user_index, 255])},
                        "columns": {"L": [{"S": "a"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}]},
                    }
                },
            }
            if n % 5 == 4:
                item["marketing_id"] = {"S": f"mkt-{n % 3}"}
            else:
                item["ap_id"] = {"S": DEMO_AP_IDS[(n + user_index) % len(DEMO_AP_IDS)]}
            items.append(item)
    return items
