"""GET /home's first read, in one round trip: the caller's profile and account items (the accounts
table, read through ``reelstack_common.viewer``'s contract), the profile's stored home document and
its history head (the home table: logic/history.py), as ONE BatchGetItem across the two tables.

Eventually consistent, like the single reads it replaces, and through DAX when ``DAX_ENDPOINT`` is
set (DAX serves BatchGetItem from its item cache, with the same record TTL as GetItem). Before,
the viewer was two sequential GetItems and the document a third in parallel: two round trips on
the request path; now one. Needs ``dynamodb:BatchGetItem`` on both tables (the same items the
GetItems read; infra/constructs/home.py).
"""

from __future__ import annotations

from typing import Any

from reelstack_common import dynamo
from reelstack_common.viewer import Viewer, viewer_from_items, viewer_keys

from recommendations.dal.home_table import head_keys, home_key, stored_page
from recommendations.logic.ports import HistoryHead, StoredHome


class DynamoPageReads:
    def __init__(self, accounts_table: str, home_table: str) -> None:
        self.accounts, self.home = accounts_table, home_table

    def viewer_and_home(self, user_id: str, profile_id: str) -> tuple[Viewer, StoredHome | None, HistoryHead | None]:
        """The caller's Viewer, the stored document and the history head. Raises
        ``reelstack_common.viewer.ProfileNotFound`` when the profile is not in the caller's account;
        any store error as it came (the caller does not know which table failed: see
        ``logic.viewers.first_read``)."""
        profile_key, account_key = viewer_keys(user_id, profile_id)
        answer = dynamo.batch_get(
            {
                self.accounts: {"Keys": [profile_key, account_key]},
                self.home: {"Keys": [home_key(profile_id), *head_keys(profile_id)]},
            }
        )
        accounts = {(item.get("pk"), item.get("sk")): item for item in answer.get(self.accounts, [])}

        def got(key: dict[str, str]) -> dict[str, Any] | None:
            return accounts.get((key["pk"], key["sk"]))

        viewer = viewer_from_items(user_id, profile_id, got(profile_key), got(account_key))
        return (viewer, *stored_page(answer.get(self.home, [])))
