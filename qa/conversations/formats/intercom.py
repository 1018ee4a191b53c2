"""Intercom conversations as native conversations: one GET /conversations/{id} answer in, one record out.

The first message is `source`, the rest are `conversation_parts` (a list, or the API's
`{"type": "conversation_part.list", "conversation_parts": [...]}`); bodies are HTML, times Unix seconds.

Decisions:
- source is "intercom"; external_id the conversation id; subject the title, else the source's subject.
- channel from `source.type`: conversation (the Messenger) and sms → chat, email → email,
  phone_call and phone_switch → phone, twitter, facebook, instagram and whatsapp → social; else other.
- Messages: the source, then every part with a non-empty body in time order; parts without one
  (assignment, open, close, snoozed, …) are events, not messages. note and note_and_reopen parts
  are internal. Author types: admin → agent; user, lead and contact → customer; bot, an AI-agent
  part (`from_ai_agent`) and team (Intercom sends automated messages as a team) → bot. A blank or
  unknown author type is the customer when the author is one of `contacts`, else system; a blank
  source author (Intercom's Twitter conversations) of a customer-initiated conversation is the contact.
- agent: `admin_assignee_id`, named after an admin author with that id in the conversation. Unknown
  names stay empty rather than "Admin <id>", so a later import that knows the name can fill it in
  (the importer never overwrites an agent's real name). Unassigned → the last agent who replied.
- team: `team_assignee_id`, named from a "teams" list beside the conversation (as GET /teams answers
  it) when present, else "team <id>" so conversations of one team stay together.
- customer: the source's author when a contact wrote it, else `contacts.contacts[0]`.
- created_at: the conversation's. closed_at (state "closed"): `statistics.last_close_at`, else the
  last close part, else `updated_at`. reopen_count: `statistics.count_reopens`.
- csat: `conversation_rating.rating` (1–5; anything else is an error, ratings are never guessed);
  the remark goes to metadata. tags: the tag names.
- metadata["intercom"]: the conversation's other fields (state, priority, custom_attributes,
  statistics, team_assignee_id, …) plus the source's type, delivered_as and url; nulls and empties left out.
"""

from __future__ import annotations

import json
from typing import Any

from qa.conversations.formats.base import (
    RecordError,
    as_count,
    as_id,
    as_list,
    as_object,
    as_text,
    identified,
    kind_of,
    unix_utc,
)
from qa.conversations.formats.html_text import html_to_text

SOURCE = "intercom"
CHANNELS = {
    "conversation": "chat", "sms": "chat", "email": "email", "phone_call": "phone", "phone_switch": "phone",
    "twitter": "social", "facebook": "social", "instagram": "social", "whatsapp": "social",
}
ROLES = {"admin": "agent", "user": "customer", "lead": "customer", "contact": "customer", "bot": "bot",
         "team": "bot"}
NOTES = frozenset({"note", "note_and_reopen"})
# Native fields or their raw material; everything else on the conversation is kept in metadata.
CONSUMED = frozenset({
    "type", "id", "title", "created_at", "source", "conversation_parts", "contacts", "teammates", "tags",
    "conversation_rating", "admin_assignee_id", "teams",
})


def convert(record: Any) -> dict[str, Any]:
    """One Intercom conversation as a native conversation; RecordError names it and the field."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {kind_of(record)}")
    return identified("conversation", record.get("id"), "id",
                      lambda ident: _Conversation(record).convert(ident))


class _Conversation:
    """One conversation being read, with its parts and the people in it."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.source = as_object(record.get("source"), "source")
        field = "conversation_parts"
        self.parts = [(f"{field}[{i}]", as_object(p, f"{field}[{i}]", required=True))
                      for i, p in enumerate(as_list(record.get(field), field, field))]
        contacts = as_list(record.get("contacts"), "contacts", "contacts")
        self.contacts = [as_id(as_object(c, f"contacts[{i}]", required=True).get("id"), f"contacts[{i}].id")
                         for i, c in enumerate(contacts)]

    def convert(self, conversation_id: str) -> dict[str, Any]:
        r = self.record
        return {
            "external_id": conversation_id, "source": SOURCE, "channel": self._channel(),
            "subject": (as_text(r.get("title"), "title")
                        or as_text(self.source.get("subject"), "source.subject") or None),
            "agent": self._agent(), "team": self._team(), "customer": self._customer(),
            "created_at": unix_utc(r.get("created_at"), "created_at"), "closed_at": self._closed_at(),
            "csat": self._csat(), "tags": _tags(r.get("tags")),
            "reopen_count": as_count(self._statistics().get("count_reopens"), "statistics.count_reopens"),
            "messages": self._messages(), "metadata": {SOURCE: self._metadata()},
        }

    def _channel(self) -> str:
        return CHANNELS.get(as_text(self.source.get("type"), "source.type") or "", "other")

    def _statistics(self) -> dict[str, Any]:
        return as_object(self.record.get("statistics"), "statistics")

    def _authors(self) -> list[tuple[str, dict[str, Any]]]:
        authors = [("source.author", as_object(self.source.get("author"), "source.author"))]
        for field, part in self.parts:
            authors.append((f"{field}.author", as_object(part.get("author"), f"{field}.author")))
        return authors

    def _role(self, author: dict[str, Any], field: str) -> str:
        kind = as_text(author.get("type"), f"{field}.type")
        if author.get("from_ai_agent") is True:
            return "bot"
        if kind in ROLES:
            return ROLES[kind]
        author_id = as_id(author.get("id"), f"{field}.id")
        return "customer" if author_id is not None and author_id in self.contacts else "system"

    def _agent(self) -> dict[str, Any] | None:
        assignee = as_id(self.record.get("admin_assignee_id"), "admin_assignee_id")
        if assignee in (None, "0"):
            return None
        for field, author in self._authors():
            if author.get("type") == "admin" and as_id(author.get("id"), f"{field}.id") == assignee:
                return {"external_id": assignee, "name": as_text(author.get("name"), f"{field}.name"),
                        "email": as_text(author.get("email"), f"{field}.email")}
        return {"external_id": assignee, "name": None, "email": None}

    def _team(self) -> str | None:
        team = as_id(self.record.get("team_assignee_id"), "team_assignee_id")
        if team in (None, "0"):
            return None
        teams = as_list(self.record.get("teams"), "teams", "teams")
        for i, value in enumerate(teams):
            entry = as_object(value, f"teams[{i}]", required=True)
            if as_id(entry.get("id"), f"teams[{i}].id") == team:
                return as_text(entry.get("name"), f"teams[{i}].name") or f"team {team}"
        return f"team {team}"

    def _customer(self) -> dict[str, Any] | None:
        author = as_object(self.source.get("author"), "source.author")
        if self._role(author, "source.author") == "customer":
            return {"external_id": as_id(author.get("id"), "source.author.id"),
                    "name": as_text(author.get("name"), "source.author.name")}
        if self.contacts and self.contacts[0] is not None:
            return {"external_id": self.contacts[0], "name": self._contact_name(self.contacts[0])}
        return None

    def _contact_name(self, contact: str) -> str | None:
        for field, author in self._authors():
            if as_id(author.get("id"), f"{field}.id") == contact and author.get("name"):
                return as_text(author["name"], f"{field}.name")
        return None

    def _closed_at(self) -> str | None:
        state = self.record.get("state")
        if state != "closed" and not (state is None and self.record.get("open") is False):
            return None
        last_close = unix_utc(self._statistics().get("last_close_at"), "statistics.last_close_at")
        if last_close:
            return last_close
        closes = [unix_utc(part.get("created_at"), f"{field}.created_at") for field, part in self.parts
                  if part.get("part_type") == "close"]
        last_part = max((c for c in closes if c), default=None)
        return last_part or unix_utc(self.record.get("updated_at"), "updated_at")

    def _csat(self) -> int | None:
        rating = as_object(self.record.get("conversation_rating"), "conversation_rating").get("rating")
        if rating is None:
            return None
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise RecordError(f"conversation_rating.rating: expected a whole number from 1 to 5, got"
                              f" {json.dumps(rating)[:40]}")
        return rating

    def _messages(self) -> list[dict[str, Any]]:
        found = [self._opening()]
        found += [self._message(part, field, part.get("created_at")) for field, part in self.parts]
        messages = [m for m in found if m is not None]
        if all(m["created_at"] for m in messages):
            messages.sort(key=lambda m: m["created_at"])  # stable: equal times keep Intercom's order
        return messages

    def _opening(self) -> dict[str, Any] | None:
        message = self._message(self.source, "source", self.record.get("created_at"))
        # Intercom leaves the author blank for Twitter; a conversation the customer started is theirs.
        customer_started = self.source.get("delivered_as") == "customer_initiated"
        if message and message["author_id"] is None and customer_started and self.contacts:
            message.update(author="customer", author_id=self.contacts[0])
        return message

    def _message(self, part: dict[str, Any], field: str, at: Any) -> dict[str, Any] | None:
        html = as_text(part.get("body"), f"{field}.body")
        body = html_to_text(html)
        if not body:
            return None
        author = as_object(part.get("author"), f"{field}.author")
        part_type = as_text(part.get("part_type"), f"{field}.part_type")
        return {
            "author": self._role(author, f"{field}.author"),
            "author_id": as_id(author.get("id"), f"{field}.author.id"),
            "author_name": as_text(author.get("name"), f"{field}.author.name"), "body": body,
            "created_at": unix_utc(at, f"{field}.created_at"), "internal": part_type in NOTES,
        }

    def _metadata(self) -> dict[str, Any]:
        kept = {k: v for k, v in self.record.items() if k not in CONSUMED and v not in (None, "", [], {})}
        for key in ("type", "delivered_as", "url"):
            value = self.source.get(key)
            if value not in (None, ""):
                kept[f"source_{key}"] = value
        rating = as_object(self.record.get("conversation_rating"), "conversation_rating")
        remark = as_text(rating.get("remark"), "conversation_rating.remark")
        if remark:
            kept["rating_remark"] = remark
        return kept


def _tags(value: Any) -> list[str]:
    """The tag names; a plain list of strings is read too."""
    names = []
    for i, tag in enumerate(as_list(value, "tags", "tags")):
        if not isinstance(tag, str):
            tag = as_text(as_object(tag, f"tags[{i}]", required=True).get("name"), f"tags[{i}].name")
        if tag:
            names.append(tag)
    return names


