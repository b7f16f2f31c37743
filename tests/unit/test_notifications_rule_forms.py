"""An automation rule's actions keep their meaning through every form they take: the
stored document (store/rules.py) and the proto (grpc_api/automation_convert.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kit.errors import InvalidArgument
from services.notifications.domain.rules import (
    BlockNumbers,
    CallWebhook,
    OpenTicket,
    SendEmail,
    SendSms,
    SetLimit,
    UnblockNumbers,
)
from services.notifications.grpc_api.automation_convert import action_from, action_message
from services.notifications.store.rules import action_doc
from services.notifications.store.rules import action_from as stored_action
from vm.notifications.v1 import resources_pb2

TEXT = st.text(max_size=20)
IDS = st.lists(st.text(min_size=1, max_size=10), max_size=3).map(tuple)
ACTIONS = st.one_of(
    st.builds(BlockNumbers, TEXT),
    st.builds(UnblockNumbers, TEXT),
    st.builds(SetLimit, TEXT, st.integers(0, 2**62), TEXT),
    st.builds(SendSms, IDS, IDS, TEXT),
    st.builds(SendEmail, IDS, IDS, TEXT, TEXT),
    st.builds(CallWebhook, TEXT),
    st.builds(OpenTicket, TEXT, TEXT, TEXT),
)


@given(ACTIONS)
def test_an_action_comes_back_from_its_stored_document(action):
    assert stored_action(action_doc(action)) == action


@given(ACTIONS)
def test_an_action_comes_back_from_its_proto(action):
    assert action_from(action_message(action)) == action


def test_a_limit_keeps_its_own_kind_beside_the_actions_kind():
    doc = action_doc(SetLimit("data", 100, "notify"))
    assert doc["kind"] == "set_limit" and doc["fields"]["kind"] == "data"


def test_an_action_without_a_kind_is_refused():
    with pytest.raises(InvalidArgument):
        action_from(resources_pb2.RuleAction())
