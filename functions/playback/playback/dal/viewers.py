"""Adapter of ``Viewers`` over ``reelstack_common.viewer`` (the accounts table's read contract, A)."""

from __future__ import annotations

from reelstack_common import viewer as shared_viewer

from playback.logic.ports import Viewers
from playback.models.domain import Viewer
from playback.models.errors import ProfileNotFound


class AccountsViewers(Viewers):
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def load(self, user_id: str, profile_id: str) -> Viewer:
        try:
            # Consistent: a profile or a plan changed a moment ago must count at once (a downgrade
            # lowers the stream limit and the resolution cap).
            v = shared_viewer.load_viewer(user_id, profile_id, table_name=self.table_name, consistent=True)
        except shared_viewer.ProfileNotFound:
            raise ProfileNotFound() from None
        return Viewer(
            account_id=v.account_id,
            profile_id=v.profile_id,
            maturity_rating=v.maturity_rating,
            language=v.language,
            subscription_status=v.subscription_status,
            max_streams=v.plan.max_concurrent_streams,
            max_height=v.max_height,
        )
